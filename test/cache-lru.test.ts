import { memoryAnswerStore } from '../gateway/cache/memory-store';

/** The in-process LRU a gateway without Redis keeps department answers in. */
describe('the in-process answer store', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });

  test('keeps at most maxEntries, dropping the least recently used first (a read counts as a use)', async () => {
    const store = memoryAnswerStore({ maxEntries: 3, now });
    for (const key of ['a', 'b', 'c']) await store.set(key, `answer ${key}`, 60_000, []);
    expect(await store.get('a')).toBe('answer a');
    await store.set('d', 'answer d', 60_000, []);
    expect(store.size).toBe(3);
    expect(await store.get('b')).toBeUndefined();
    expect([await store.get('a'), await store.get('c'), await store.get('d')]).toEqual(['answer a', 'answer c', 'answer d']);
  });

  test('an entry expires after its TTL and is then removed', async () => {
    const store = memoryAnswerStore({ maxEntries: 10, now });
    await store.set('a', 'answer a', 1000, ['household:p1']);
    clock += 999;
    expect(await store.get('a')).toBe('answer a');
    clock += 1;
    expect(await store.get('a')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(await store.dropTagged('household:p1')).toBe(0);
  });

  test('dropping a tag drops every entry carrying it, and only those', async () => {
    const store = memoryAnswerStore({ maxEntries: 10, now });
    await store.set('household of p1', 'x', 60_000, ['household:p1', 'household:p2']);
    await store.set('p2 alone', 'y', 60_000, ['household:p2']);
    await store.set('p1 at residence', 'z', 60_000, ['residence:p1']);
    expect(await store.dropTagged('household:p1')).toBe(1);
    expect(await store.get('household of p1')).toBeUndefined();
    expect(await store.get('p2 alone')).toBe('y');
    expect(await store.get('p1 at residence')).toBe('z');
    expect(await store.dropTagged('household:p2')).toBe(1);
    expect(store.size).toBe(1);
  });

  test('setting a key again replaces its answer, TTL and tags', async () => {
    const store = memoryAnswerStore({ maxEntries: 10, now });
    await store.set('a', 'old', 1000, ['household:p1']);
    await store.set('a', 'new', 60_000, ['household:p2']);
    expect(await store.dropTagged('household:p1')).toBe(0);
    clock += 5000;
    expect(await store.get('a')).toBe('new');
    expect(await store.dropTagged('household:p2')).toBe(1);
  });

  test('an entry pushed out by the bound leaves its tags too', async () => {
    const store = memoryAnswerStore({ maxEntries: 1, now });
    await store.set('a', 'x', 60_000, ['household:p1']);
    await store.set('b', 'y', 60_000, []);
    expect(await store.dropTagged('household:p1')).toBe(0);
    expect(await store.get('b')).toBe('y');
  });
});
