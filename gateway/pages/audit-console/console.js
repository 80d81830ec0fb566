'use strict';
// The auditors' console: every read goes through the gateway's /graphql under the
// auditor's own token, so the console sees exactly what the token may see and each
// search is itself audited. Record fields come from callers (case numbers, operation
// names), so everything is written with textContent, never as HTML.
(function startAuditConsole() {
  const TOKEN_KEY = 'proofless.audit.token';
  const ENDPOINT = '/graphql';

  // The operations and record fields come from /audit/operations.js, which the gateway
  // generates from the same module it accepts these documents from.
  const { operations, recordFields: RECORD_FIELDS, departments: DEPARTMENTS } = window.PROOFLESS_AUDIT_CONSOLE;
  const MONOSPACE_FIELDS = new Set(['requestId', 'citizens', 'documentHash', 'hash', 'previousHash']);

  const RECORDS_QUERY = operations.AuditConsoleRecords;
  const CHAINS_QUERY = operations.AuditConsoleChains;
  const BREACHES_QUERY = operations.AuditConsoleBreaches;
  const TRAFFIC_QUERY = operations.AuditConsoleTraffic;

  /** What a coded error means for an auditor, beside the gateway's own message. */
  const CODE_HINTS = {
    UNAUTHENTICATED: 'The token is missing, malformed, expired or not for this gateway: sign in again.',
    FORBIDDEN: 'This token may not read audit data: the console needs a token with role auditor.',
    BAD_USER_INPUT: 'A filter is malformed; the message says which and what was expected.',
    RATE_LIMITED: 'Too many requests: wait a moment and try again.',
    AUDIT_UNAVAILABLE: 'The audit log cannot be written, so the gateway answers nothing: try again later.',
    AUDIT_VERIFICATION_PENDING: 'The audit department started a moment ago and is verifying the log for the first time: verify again shortly.',
    DEPARTMENT_UNAVAILABLE: 'A department did not answer: try again later.',
    DEPARTMENT_LOG_UNREADABLE: 'The audit department cannot read that department\'s access log: the department has not granted it read access, or its database is unreachable. Ask the department\'s operators.',
  };

  const $ = (id) => document.getElementById(id);

  /** An element with text children only. */
  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  class GatewayError extends Error {
    constructor(errors) {
      super(errors.map((error) => error.message).join('\n'));
      this.errors = errors;
    }
  }

  /** The data of one GraphQL request under `token`; a GatewayError carrying the answer's errors otherwise. */
  async function query(source, variables, token) {
    let response;
    try {
      response = await fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: 'Bearer ' + token },
        body: JSON.stringify({ query: source, variables }),
      });
    } catch (cause) {
      throw new GatewayError([{ message: 'the gateway cannot be reached (' + cause.message + ')' }]);
    }
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new GatewayError([{ message: 'HTTP ' + response.status + ': the answer is not JSON (a proxy in between?)' }]);
    }
    if (body.errors && body.errors.length > 0) throw new GatewayError(body.errors);
    return body.data;
  }

  function showError(error) {
    const box = $('error');
    const errors = error instanceof GatewayError ? error.errors : [{ message: error.message }];
    box.replaceChildren();
    for (const { message, extensions } of errors) {
      const code = extensions && extensions.code;
      const line = element('div');
      if (code) line.append(element('strong', code + ': '));
      line.append(document.createTextNode(message));
      if (code && CODE_HINTS[code]) line.append(element('div', CODE_HINTS[code], 'hint'));
      box.append(line);
    }
    box.hidden = false;
    if (errors.some((e) => e.extensions && e.extensions.code === 'UNAUTHENTICATED')) signOut({ keepError: true });
  }

  function clearError() {
    $('error').hidden = true;
    $('error').replaceChildren();
  }

  /** Runs `work`, showing a coded error instead of throwing. */
  async function guarded(work) {
    clearError();
    try {
      await work();
    } catch (error) {
      showError(error);
    }
  }

  const currentToken = () => sessionStorage.getItem(TOKEN_KEY);

  /** The token's claims, for showing who is signed in; the gateway alone decides what the token may do. */
  function claimsOf(token) {
    try {
      const payload = atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(payload, (c) => c.charCodeAt(0))));
    } catch {
      return {};
    }
  }

  function showSignedIn(token) {
    const claims = claimsOf(token);
    const expires = typeof claims.exp === 'number' ? ', until ' + new Date(claims.exp * 1000).toISOString().replace('.000Z', 'Z') : '';
    $('who').textContent = (claims.sub || 'unknown officer') + ' (role ' + (claims.role || 'none') + expires + ')';
    $('signed-in').hidden = false;
    $('sign-in').hidden = true;
    $('console').hidden = false;
  }

  function signOut(options = {}) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('signed-in').hidden = true;
    $('console').hidden = true;
    $('sign-in').hidden = false;
    $('token-input').value = '';
    for (const id of ['record-rows', 'chain-rows', 'breach-rows', 'record-fields', 'traffic-rows', 'traffic-summary']) $(id).replaceChildren();
    for (const id of ['records-table', 'breaches-table', 'breaches-empty', 'record', 'traffic-table']) $(id).hidden = true;
    if (!options.keepError) clearError();
  }

  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
    guarded(async () => {
      // Reading the chains is the sign-in check: it fails for a token that is not an auditor's.
      const chains = await loadChains(token);
      sessionStorage.setItem(TOKEN_KEY, token);
      showSignedIn(token);
      renderChains(chains);
    });
  });

  $('sign-out').addEventListener('click', () => signOut());

  /**
   * The chains as the audit department's latest verification found them; null while its
   * first verification since it started runs (the token was accepted as an auditor's all
   * the same: the gateway refuses anyone else before asking the department).
   */
  async function loadChains(token) {
    try {
      return (await query(CHAINS_QUERY, {}, token)).auditChains;
    } catch (error) {
      const isPending = error instanceof GatewayError && error.errors.every((e) => e.extensions && e.extensions.code === 'AUDIT_VERIFICATION_PENDING');
      if (isPending) return null;
      throw error;
    }
  }

  function renderChains(chains) {
    const rows = $('chain-rows');
    rows.replaceChildren();
    if (chains === null || chains.length === 0) {
      const row = element('tr');
      const cell = element('td', chains === null
        ? 'Not verified yet: the audit department is verifying the log for the first time since it started. Verify again in a moment.'
        : 'No chain in the latest verification: no operation had been recorded when it began. Verify again to ask for a newer one.');
      cell.colSpan = 6;
      row.append(cell);
      rows.append(row);
      return;
    }
    for (const chain of chains) {
      const row = element('tr');
      row.dataset.chain = chain.chainId;
      const status = chain.ok
        ? element('td', 'verified', 'status-ok')
        : element('td', 'NOT verified: ' + (chain.problem || 'unknown problem') + (chain.firstBadSequence !== null ? ' (first bad sequence ' + chain.firstBadSequence + ')' : ''), 'status-bad');
      row.append(
        element('td', chain.chainId, 'mono'),
        status,
        element('td', chain.records),
        element('td', chain.lastSequence),
        element('td', chain.lastCheckpoint !== null ? 'at sequence ' + chain.lastCheckpoint : 'none yet'),
        element('td', chain.verifiedAt, 'mono'),
      );
      rows.append(row);
    }
  }

  $('verify-chains').addEventListener('click', () => guarded(async () => renderChains(await loadChains(currentToken()))));

  /** The search being paged: its variables and the cursor that starts each page seen so far. */
  const search = { variables: null, cursors: [null], page: 0, records: [] };

  /** The form as auditRecords variables: empty fields left out, local times as ISO instants. */
  function filtersFromForm() {
    const form = new FormData($('search-form'));
    const variables = {};
    for (const name of ['idNumber', 'application', 'officer', 'serviceItem', 'caseNumber', 'outcome']) {
      const value = String(form.get(name) || '').trim();
      if (value) variables[name] = value;
    }
    for (const name of ['from', 'to']) {
      const value = String(form.get(name) || '');
      if (!value) continue;
      const instant = new Date(value);
      if (Number.isNaN(instant.getTime())) throw new Error(name + ' must be a date and time, got "' + value + '"');
      variables[name] = instant.toISOString();
    }
    variables.first = Number(form.get('first'));
    return variables;
  }

  /** Shows page `index` (from 0) of the current search; the page number moves only once the page arrived. */
  async function loadRecordsPage(index) {
    const data = await query(RECORDS_QUERY, { ...search.variables, after: search.cursors[index] }, currentToken());
    const page = data.auditRecords;
    search.page = index;
    search.records = page.records;
    search.cursors.length = index + 1;
    if (page.hasNextPage) search.cursors.push(page.endCursor);
    renderRecords(page);
  }

  function renderRecords(page) {
    const rows = $('record-rows');
    rows.replaceChildren();
    page.records.forEach((record, index) => {
      const row = element('tr');
      row.dataset.requestId = record.requestId;
      const citizens = record.citizens.length <= 2 ? record.citizens.join(', ') : record.citizens.slice(0, 2).join(', ') + ' +' + (record.citizens.length - 2);
      const open = element('button', 'Open');
      open.type = 'button';
      open.addEventListener('click', () => openRecord(index));
      const action = element('td');
      action.append(open);
      row.append(
        element('td', record.time),
        element('td', record.application),
        element('td', record.officer),
        element('td', record.serviceItem),
        element('td', record.caseNumber),
        element('td', record.outcome.toLowerCase()),
        element('td', citizens, 'mono'),
        element('td', record.operationName),
        action,
      );
      rows.append(row);
    });
    $('records-table').hidden = page.records.length === 0;
    const first = search.page * search.variables.first + 1;
    $('records-summary').textContent = page.records.length === 0
      ? 'No records match.'
      : 'Records ' + first + ' to ' + (first + page.records.length - 1) + (page.hasNextPage ? ', more on the next page' : '') + '; newest first.';
    $('records-page').textContent = 'Page ' + (search.page + 1);
    $('records-previous').disabled = search.page === 0;
    $('records-next').disabled = !page.hasNextPage;
  }

  function openRecord(index) {
    const record = search.records[index];
    const list = $('record-fields');
    list.replaceChildren();
    for (const [field, label] of RECORD_FIELDS) {
      const value = record[field];
      const shown = Array.isArray(value) ? (value.length > 0 ? value.join('\n') : '(none)') : value === null ? '(none)' : String(value);
      const term = element('dt', label);
      term.dataset.field = field;
      list.append(term, element('dd', shown, MONOSPACE_FIELDS.has(field) ? 'mono' : undefined));
    }
    $('record-title').textContent = 'Record ' + record.chainId + ' #' + record.sequence;
    $('record').hidden = false;
    $('record').scrollIntoView({ block: 'nearest' });
  }

  $('close-record').addEventListener('click', () => {
    $('record').hidden = true;
  });

  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      search.variables = filtersFromForm();
      search.cursors = [null];
      $('record').hidden = true;
      await loadRecordsPage(0);
    });
  });

  $('search-form').addEventListener('reset', () => {
    $('records-summary').textContent = 'Leave every filter empty for the newest records. Your searches are audited too.';
    $('record-rows').replaceChildren();
    $('records-table').hidden = true;
    $('records-previous').disabled = true;
    $('records-next').disabled = true;
    $('records-page').textContent = '';
  });

  $('records-next').addEventListener('click', () => guarded(() => loadRecordsPage(search.page + 1)));
  $('records-previous').addEventListener('click', () => guarded(() => loadRecordsPage(search.page - 1)));

  const breaches = { cursors: [null], page: 0 };

  /** Shows page `index` (from 0) of breached commitments. */
  async function loadBreachesPage(index) {
    const data = await query(BREACHES_QUERY, { after: breaches.cursors[index] }, currentToken());
    const page = data.breachedCommitments;
    breaches.page = index;
    breaches.cursors.length = index + 1;
    if (page.hasNextPage) breaches.cursors.push(page.endCursor);
    const rows = $('breach-rows');
    rows.replaceChildren();
    for (const commitment of page.commitments) {
      const row = element('tr');
      row.dataset.commitment = commitment.id;
      row.append(
        element('td', commitment.applicant, 'mono'),
        element('td', commitment.serviceItem),
        element('td', commitment.caseNumber),
        element('td', commitment.proof),
        element('td', commitment.signedAt),
        element('td', commitment.followUpDeadline),
        element('td', commitment.lastCheckedAt || 'never'),
        element('td', commitment.statement),
      );
      rows.append(row);
    }
    $('breaches-table').hidden = page.commitments.length === 0;
    $('breaches-empty').hidden = page.commitments.length > 0;
    $('breaches-page').textContent = 'Page ' + (breaches.page + 1);
    $('breaches-previous').disabled = breaches.page === 0;
    $('breaches-next').disabled = !page.hasNextPage;
  }

  $('list-breaches').addEventListener('click', () => guarded(() => {
    breaches.cursors = [null];
    return loadBreachesPage(0);
  }));
  $('breaches-next').addEventListener('click', () => guarded(() => loadBreachesPage(breaches.page + 1)));
  $('breaches-previous').addEventListener('click', () => guarded(() => loadBreachesPage(breaches.page - 1)));

  /** A datetime-local field's value for `instant`, in the browser's time zone, to the second. */
  function localValue(instant) {
    return new Date(instant.getTime() - instant.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  }

  /** A datetime-local field as an ISO instant; the field's name and value when it is not a date and time. */
  function instantOf(form, name) {
    const value = String(form.get(name) || '');
    const instant = new Date(value);
    if (!value || Number.isNaN(instant.getTime())) throw new Error(name + ' must be a date and time, got "' + value + '"');
    return instant.toISOString();
  }

  for (const name of DEPARTMENTS) $('traffic-form').elements.department.append(new Option(name, name));
  // The last 24 hours up to the next full minute: a period the auditor usually wants first.
  const nextMinute = new Date(Math.ceil(Date.now() / 60000) * 60000);
  $('traffic-form').elements.trafficFrom.value = localValue(new Date(nextMinute.getTime() - 24 * 3600000));
  $('traffic-form').elements.trafficTo.value = localValue(nextMinute);

  function renderTraffic(traffic) {
    const rows = $('traffic-rows');
    rows.replaceChildren();
    for (const figures of traffic.figures) {
      const row = element('tr');
      row.append(
        element('td', figures.application === null ? '(none)' : figures.application),
        element('td', figures.serviceItem === null ? '(none)' : figures.serviceItem),
        element('td', figures.requests, 'number'),
        element('td', figures.refusals, 'number'),
        element('td', figures.errors, 'number'),
        element('td', figures.latencyP50Ms, 'number'),
        element('td', figures.latencyP95Ms, 'number'),
      );
      rows.append(row);
    }
    $('traffic-table').hidden = traffic.figures.length === 0;
    const period = ' from ' + traffic.from + ' to ' + traffic.to + ' (UTC)';
    const total = (field) => traffic.figures.reduce((sum, figures) => sum + figures[field], 0);
    $('traffic-summary').textContent = !traffic.hasLog
      ? 'No access log of ' + traffic.department + ' found: the department has answered nothing yet, or has not made its log readable to the audit department.'
      : traffic.figures.length === 0
        ? 'No requests logged by ' + traffic.department + period + '.'
        : traffic.department + ': ' + total('requests') + (total('requests') === 1 ? ' request, ' : ' requests, ') + total('refusals') + ' refused, '
          + total('errors') + ' failed,' + period + '.';
  }

  $('traffic-form').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const form = new FormData($('traffic-form'));
      const variables = { department: String(form.get('department')), from: instantOf(form, 'trafficFrom'), to: instantOf(form, 'trafficTo') };
      // An earlier department's table must not stand beside this question's error.
      $('traffic-rows').replaceChildren();
      $('traffic-table').hidden = true;
      $('traffic-summary').textContent = '';
      renderTraffic((await query(TRAFFIC_QUERY, variables, currentToken())).departmentTraffic);
    });
  });

  const saved = currentToken();
  if (saved) {
    showSignedIn(saved);
    guarded(async () => renderChains(await loadChains(saved)));
  }
})();
