'use strict';
// GraphiQL for front-end teams, with the bearer token and the purpose headers every
// request that reads citizen data needs. Served by the gateway (no CDN); settings come
// from the page's JSON block so this file needs no inline script.
(function startExplorer() {
  const settings = JSON.parse(document.getElementById('explorer-settings').textContent);
  // GraphiQL's dialogs add a <style> element (react-remove-scroll) and give it this
  // global as its nonce: the page's policy admits that one style and no other inline one.
  window.__webpack_nonce__ = settings.styleNonce;
  const inputs = {
    token: document.getElementById('token'),
    serviceItem: document.getElementById('service-item'),
    caseNumber: document.getElementById('case-number'),
  };

  // Kept per browser tab only (sessionStorage): a token must not outlive the session.
  for (const [name, input] of Object.entries(inputs)) {
    const key = 'proofless.explorer.' + name;
    const stored = sessionStorage.getItem(key);
    input.value = stored !== null ? stored : settings.defaults[name] || '';
    input.addEventListener('input', () => sessionStorage.setItem(key, input.value));
  }

  /** The fields above GraphiQL as headers; a pasted `Bearer ` prefix is tolerated. */
  function fieldHeaders() {
    const headers = {};
    const token = inputs.token.value.trim().replace(/^Bearer\s+/i, '');
    if (token) headers.authorization = 'Bearer ' + token;
    if (inputs.serviceItem.value.trim()) headers['x-service-item'] = inputs.serviceItem.value.trim();
    if (inputs.caseNumber.value.trim()) headers['x-case-number'] = inputs.caseNumber.value.trim();
    return headers;
  }

  /**
   * GraphiQL's headers editor is applied first and the fields above win, so what is sent
   * is what the fields show. A non-JSON answer (a proxy's error page) is shown as text.
   */
  async function fetcher(params, options) {
    const response = await fetch(settings.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(options && options.headers),
        ...fieldHeaders(),
      },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return { errors: [{ message: 'HTTP ' + response.status + ': ' + text.slice(0, 500) }] };
    }
  }

  // The example is offered only to a browser with no saved tabs, so GraphiQL keeps a
  // team's own work. It goes in as the initial query and variables rather than as
  // `defaultTabs`, whose variables GraphiQL 3.9 does not put in the editor.
  const example = localStorage.getItem('graphiql:tabState') === null ? { query: settings.query, variables: settings.variables } : {};
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: 'variables', ...example }));
})();
