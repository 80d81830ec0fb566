import { ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { useFixtureStack } from './helpers/stack';

/**
 * Red team, issue 16, area 7: requests in flight per officer (8). A proof checklist holds
 * one place while the service bureau's read for it, made under the officer's own token,
 * needs another: with 8 checklists in flight, every one holds a place and every bureau
 * read is refused, so all 8 fail (6 at once: 4 fail), though the officer sent 8 requests,
 * the most allowed. The refusal comes back as the service department's error, HTTP 200,
 * `data: null`, without `limit`, `max` or Retry-After: not the 429 the README promises a
 * front end, and not a checklist with its proofs UNAVAILABLE either. Against `npm start`:
 * 8 of 8 failed, three times running.
 */
const city = useFixtureStack();

test('8 checklists in flight from one officer: each is answered, or refused with a proper 429', async () => {
  const headers = await city.stack.serviceHeaders({ serviceItems: ['330100-JY-0001'], scopes: [] }, { serviceItem: '330100-JY-0001', caseNumber: 'JY-2026-000001' });
  const query = `{ proofChecklist(serviceItem: "330100-JY-0001", applicant: "${ZHANG_WEI}", related: [{ idNumber: "${ZHANG_ZIHAN}", role: CHILD }]) { proofs { code status } } }`;
  const answers = await Promise.all(Array.from({ length: 8 }, () => city.stack.query(query, undefined, headers)));
  const outcomes = answers.map((answer) => {
    if (answer.status === 200 && answer.body.data?.proofChecklist) return 'checklist';
    if (answer.status === 429 && answer.body.errors?.[0]?.extensions?.limit === 'concurrentRequests') return 'refused with 429';
    return `${answer.status} ${JSON.stringify(answer.body.errors?.[0]?.extensions)}`;
  });
  // Today: 8 x '200 {"code":"RATE_LIMITED","department":"service"}'.
  expect(outcomes.filter((outcome) => outcome !== 'checklist' && outcome !== 'refused with 429')).toEqual([]);
});
