import { ZHANG_WEI } from './fixtures/registries';
import { startFaultServer } from './helpers/fault-server';
import { startStack, useFixtureStack } from './helpers/stack';

const city = useFixtureStack();

test('a department that is down costs only its own facts; the error names it and says nothing of how it failed', async () => {
  await city.stack.subgraphs.residence.stop();
  const { status, body } = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }`);
  expect(status).toBe(200);
  expect(body).toEqual({
    data: { citizen: { identity: { name: '张伟' }, residence: null } },
    errors: [
      {
        message: 'the residence department could not answer',
        extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'residence' },
      },
    ],
  });
});

test('a department\'s own error message, stack and data never reach the caller', async () => {
  const leakyDepartment = await startFaultServer({ isDepartment: true });
  leakyDepartment.next().reply(200, {
    data: { _entities: [null] },
    errors: [{
      message: `SqliteError: no such column: id_number while reading ${ZHANG_WEI}`,
      path: ['_entities', 0, 'residence'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['SqliteError: no such column', '    at Statement.all (/srv/residence/registry.js:40:12)'] },
    }],
  });
  const leakyStack = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_RESIDENCE_URL: leakyDepartment.url } });
  try {
    const { body } = await leakyStack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }`);
    expect(body).toEqual({
      data: { citizen: { identity: { name: '张伟' }, residence: null } },
      errors: [{
        message: 'the residence department could not answer',
        path: ['citizen', 'residence'],
        extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'residence' },
      }],
    });
    expect({ pending: leakyDepartment.pendingAnswers(), unexpected: leakyDepartment.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
  } finally {
    await leakyStack.stop();
    await leakyDepartment.stop();
  }
});
