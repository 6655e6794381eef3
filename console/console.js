// The Settings -> Webhooks console: plain JavaScript, no build step, no dependencies.
// Everything the server or a receiver sent is put into the page with textContent (through h()
// below), never parsed as HTML.
'use strict';

(function () {
  const api = '/api/v1';
  const main = document.getElementById('main');
  const statusBox = document.getElementById('status');
  let token = sessionStorage.getItem('pulsehook.token') || '';
  let eventTypes = null;        // [{name, resource, action, description}]
  let stopStream = null;        // closes the live stream of the current page
  let routeSeq = 0;             // bumps on every navigation: late answers of old pages are ignored

  // ---- DOM helper: h('p', {class: 'x'}, 'text', child) ------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  let keepStatus = 0;  // navigations a message survives: the one it announces, not the next
  function say(text, isError, beforeNavigation) {
    keepStatus = beforeNavigation ? 1 : 0;
    statusBox.replaceChildren(h('p', { class: isError ? 'error' : '' }, text));
  }
  function clearStatus() { statusBox.replaceChildren(); }

  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  }

  // ---- the API -----------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function call(method, path, body) {
    const init = { method, headers: { Authorization: 'Bearer ' + token } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(api + path, init);
    if (res.status === 401) {
      signOut('Your access token was not accepted. Sign in again.');
      throw new ApiError(401, null);
    }
    const text = res.status === 204 ? '' : await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // Live updates: Server-Sent Events read through fetch (EventSource cannot send the token).
  function openStream(endpointId, onNotice) {
    let closed = false;
    let controller = null;
    let delay = 1000;
    const live = document.getElementById('live');
    const setLive = (on) => {
      if (!live) return;
      live.classList.toggle('on', on);
      live.textContent = on ? 'Live' : 'Reconnecting…';
    };
    async function run() {
      while (!closed) {
        controller = new AbortController();
        try {
          const res = await fetch(api + '/endpoints/' + encodeURIComponent(endpointId) + '/stream',
            { headers: { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' }, signal: controller.signal });
          if (res.status === 501) {
            // The server has no live feed: reload every few seconds instead.
            if (live) live.textContent = 'Refreshing every 5 s';
            while (!closed) {
              await new Promise((r) => setTimeout(r, 5000));
              if (!closed) onNotice(null);
            }
            return;
          }
          if (!res.ok || !res.body) throw new Error('stream ' + res.status);
          setLive(true);
          delay = 1000;
          onNotice(null);  // reconnected: whatever happened meanwhile is reloaded
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += decoder.decode(value, { stream: true });
            let cut;
            while ((cut = buf.indexOf('\n\n')) >= 0) {
              const frame = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              let type = 'message';
              const data = [];
              for (const line of frame.split('\n')) {
                if (line.startsWith('event:')) type = line.slice(6).trim();
                else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
              }
              if (type === 'attempt' && data.length) {
                try { onNotice(JSON.parse(data.join('\n'))); } catch (e) { /* ignore a bad frame */ }
              }
            }
          }
        } catch (e) {
          if (closed) return;
        }
        if (closed) return;
        setLive(false);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30000);
      }
    }
    run();
    return () => { closed = true; if (controller) controller.abort(); };
  }

  // ---- sign in -----------------------------------------------------------------------------
  function signOut(message) {
    token = '';
    sessionStorage.removeItem('pulsehook.token');
    document.getElementById('session').hidden = true;
    if (message) say(message, true, true);
    render();
  }
  document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out.'));

  function signInPage() {
    const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', required: true,
      'aria-describedby': 'token-hint' });
    const form = h('form', { class: 'card', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: 'token' }, 'Access token'),
        h('p', { id: 'token-hint', class: 'hint' }, 'The bearer token your administrator gave you for this organization.'),
        input),
      h('button', { type: 'submit' }, 'Sign in'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      token = input.value.trim();
      if (!token) { say('Enter an access token.', true); input.focus(); return; }
      try {
        await call('GET', '/endpoints');
        sessionStorage.setItem('pulsehook.token', token);
        clearStatus();
        render();
      } catch (err) {
        if (err.status !== 401) say(err.message, true);
      }
    });
    show('Webhooks', [h('p', {}, 'Sign in to manage the webhook endpoints of your organization.'), form]);
    input.focus();
  }

  // ---- page frame --------------------------------------------------------------------------
  function show(title, nodes, focusTitle) {
    const h1 = h('h1', { tabindex: '-1', id: 'page-title' }, title);
    main.replaceChildren(h1, ...nodes.flat().filter((n) => n !== null && n !== undefined));
    document.title = title + ' · Webhooks';
    if (focusTitle !== false) h1.focus();
  }

  async function loadEventTypes() {
    if (!eventTypes) eventTypes = (await call('GET', '/event-types')).data;
    return eventTypes;
  }

  // ---- Webhooks: the list of endpoints -------------------------------------------------------
  async function listPage(seq) {
    const eps = (await call('GET', '/endpoints')).data;
    if (seq !== routeSeq) return;
    const items = eps.map((ep) =>
      h('li', {}, h('a', { class: 'row', href: '#/endpoints/' + encodeURIComponent(ep.id) },
        h('span', { class: 'title' }, ep.name),
        h('span', { class: 'sub wide' }, ep.url),
        h('span', { class: 'sub' }, ep.counts.all + ' events · ' + ep.counts.failed + ' failed'),
        h('span', { class: 'badge ' + (ep.enabled ? 'sent' : 'disabled') }, ep.enabled ? 'Enabled' : 'Disabled'))));
    show('Webhooks', [
      h('div', { class: 'toolbar' },
        h('p', { class: 'hint' }, 'Webhooks send a signed HTTP POST to your endpoint whenever data changes in MetaPulse.'),
        h('a', { class: 'button', href: '#/new', id: 'new-endpoint' }, 'New Webhook Endpoint')),
      h('h2', {}, 'Endpoints'),
      eps.length ? h('ul', { class: 'cards', id: 'endpoints' }, items)
        : h('p', { class: 'empty' }, 'No webhook endpoints yet. Choose “New Webhook Endpoint” to add one.'),
    ]);
  }

  // ---- New / Edit endpoint form ---------------------------------------------------------------
  // 10 -> "10 s", 90 -> "1.5 min", 7200 -> "2 h", 172800 -> "2 d".
  function seconds(n) {
    const units = [[86400, 'd'], [3600, 'h'], [60, 'min']];
    for (const [size, unit] of units) if (n >= size) return Number((n / size).toPrecision(3)) + ' ' + unit;
    return n + ' s';
  }

  function typeLabel(t) {
    if (t.name === 'graph.updated') return 'graph.updated (this refers to graph settings, not values)';
    return t.name;
  }

  async function formPage(seq, ep) {
    const types = await loadEventTypes();
    if (seq !== routeSeq) return;
    const editing = !!ep;
    const chosen = new Set(editing ? ep.event_types : []);
    const errors = {};
    const errorBox = h('div', { id: 'form-errors' });

    function field(id, labelText, input, hint) {
      const err = h('p', { class: 'field-error', id: id + '-error', hidden: true });
      errors[id] = { err, input };
      input.setAttribute('aria-describedby', (hint ? id + '-hint ' : '') + id + '-error');
      return h('div', { class: 'field' }, h('label', { for: id }, labelText),
        hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null, input, err);
    }
    const name = h('input', { type: 'text', id: 'name', name: 'name', required: true, maxlength: 128, autocomplete: 'off' });
    const url = h('input', { type: 'url', id: 'url', name: 'url', required: true, inputmode: 'url', autocomplete: 'off',
      placeholder: 'https://example.com/webhooks/metapulse' });
    const description = h('textarea', { id: 'description', name: 'description', rows: 2 });
    if (editing) { name.value = ep.name; url.value = ep.url; description.value = ep.description; }
    // Rate limit: requests per second at most (fractions allowed), and the burst; empty: none.
    const rate = h('input', { type: 'number', id: 'rate_limit', name: 'rate_limit', min: '0', step: 'any',
      inputmode: 'decimal', autocomplete: 'off', placeholder: 'no limit' });
    const burst = h('input', { type: 'number', id: 'rate_burst', name: 'rate_burst', min: '1', step: '1',
      inputmode: 'numeric', autocomplete: 'off', placeholder: 'default' });
    if (editing && ep.rate_limit) { rate.value = String(ep.rate_limit.per_second); burst.value = String(ep.rate_limit.burst); }
    const ordered = h('input', { type: 'checkbox', id: 'ordered', name: 'ordered', 'aria-describedby': 'ordered-desc' });
    ordered.checked = editing ? !!ep.ordered : false;
    // Per-endpoint settings. A credential header's value is never sent to the browser: it
    // shows as <hidden>, and sending <hidden> back keeps it.
    const HIDDEN = '<hidden>';
    const headers = h('textarea', { id: 'headers', name: 'headers', rows: 3, autocomplete: 'off', spellcheck: 'false',
      placeholder: 'X-Tenant: acme' });
    const timeout = h('input', { type: 'number', id: 'timeout_seconds', name: 'timeout_seconds', min: '1', max: '60',
      step: 'any', inputmode: 'decimal', autocomplete: 'off', placeholder: 'default' });
    const schedule = h('input', { type: 'text', id: 'retry_schedule', name: 'retry_schedule', autocomplete: 'off',
      inputmode: 'numeric', placeholder: 'default: 3 days of retries' });
    const labels = h('textarea', { id: 'metadata', name: 'metadata', rows: 2, autocomplete: 'off', spellcheck: 'false',
      placeholder: 'team=growth' });
    if (editing) {
      headers.value = Object.entries(ep.headers || {}).map(([k, v]) => k + ': ' + (v === null ? HIDDEN : v)).join('\n');
      if (ep.timeout_seconds !== null && ep.timeout_seconds !== undefined) timeout.value = String(ep.timeout_seconds);
      schedule.value = (ep.retry_schedule || []).join(', ');
      labels.value = Object.entries(ep.metadata || {}).map(([k, v]) => k + '=' + v).join('\n');
    }
    const hasSettings = editing && (headers.value !== '' || timeout.value !== '' || schedule.value !== '' || labels.value !== '');

    const groups = new Map();
    for (const t of types) {
      if (!groups.has(t.resource)) groups.set(t.resource, []);
      groups.get(t.resource).push(t);
    }
    const boxes = [];
    const fieldsets = [...groups.entries()].map(([resource, list]) =>
      h('fieldset', {}, h('legend', {}, resource.replace(/_/g, ' ')),
        list.map((t) => {
          const id = 'type-' + t.name.replace(/[^a-z0-9_]/g, '-');
          const box = h('input', { type: 'checkbox', id, name: 'event_types', value: t.name,
            'aria-describedby': id + '-desc' });
          box.checked = chosen.has(t.name);
          boxes.push(box);
          return h('div', { class: 'check' }, box,
            h('label', { for: id }, h('code', {}, typeLabel(t)),
              h('span', { class: 'hint', id: id + '-desc' }, t.description)));
        })));
    const typesErr = h('p', { class: 'field-error', id: 'event_types-error', hidden: true });
    errors.event_types = { err: typesErr, input: null };
    const selectAll = h('button', { type: 'button', class: 'secondary', id: 'select-all' }, 'Select all');
    selectAll.addEventListener('click', () => {
      const all = boxes.every((b) => b.checked);
      for (const b of boxes) b.checked = !all;
      selectAll.textContent = all ? 'Select all' : 'Clear all';
    });

    const submit = h('button', { type: 'submit', id: 'submit' }, editing ? 'Update Webhook Endpoint' : 'Create Webhook Endpoint');
    const cancelHref = editing ? '#/endpoints/' + encodeURIComponent(ep.id) : '#/';
    const form = h('form', { novalidate: true, id: 'endpoint-form' },
      errorBox,
      field('name', 'Name', name, 'A name to recognize this endpoint by, e.g. “Data warehouse”.'),
      field('url', 'URL', url, 'Where MetaPulse sends the HTTP POST requests (http:// or https://).'),
      field('description', 'Description (optional)', description),
      field('rate_limit', 'Rate limit (optional, requests per second)', rate,
        'At most this many requests per second to this endpoint, e.g. 2 or 0.5; leave empty for no limit.'),
      h('div', { class: 'field' }, h('label', { for: 'rate_burst' }, 'Burst (optional)'),
        h('p', { class: 'hint', id: 'rate_burst-hint' }, 'How many may go at once after a quiet spell; default: the rate, rounded up.'),
        burst),
      h('div', { class: 'check' }, ordered,
        h('label', { for: 'ordered' }, 'Deliver in order',
          h('span', { class: 'hint', id: 'ordered-desc' },
            'Send the events of each resource one at a time, in the order they happened: a failing one holds back the later ones of the same resource until it is delivered or given up.'))),
      h('details', { id: 'settings', open: hasSettings || undefined },
        h('summary', {}, 'Request and retry settings (optional)'),
        field('headers', 'Custom headers', headers,
          'One “Name: value” per line, sent with every request after the signature headers. Credentials (Authorization, tokens, keys) are never shown again: leave ' + HIDDEN + ' to keep one.'),
        field('timeout_seconds', 'Request timeout (seconds)', timeout,
          'How long to wait for an answer, 1 to 60 seconds; empty: the service default.'),
        field('retry_schedule', 'Retry schedule (seconds)', schedule,
          'The waits after each failed attempt, e.g. “10, 60, 600”, then give up; empty: retry for 3 days.'),
        field('metadata', 'Labels', labels, 'One “key=value” per line, for your own use; never sent.')),
      h('fieldset', { id: 'event_types', 'aria-describedby': 'event_types-error' },
        h('legend', {}, 'Events to send'),
        h('p', { class: 'hint' }, 'Choose the events this endpoint receives.'),
        h('div', { class: 'actions' }, selectAll),
        typesErr,
        h('div', { class: 'groups' }, fieldsets)),
      h('div', { class: 'actions' }, submit, h('a', { class: 'button secondary', href: cancelHref }, 'Cancel')));

    function showErrors(list) {
      for (const { err, input } of Object.values(errors)) {
        err.hidden = true; err.textContent = '';
        if (input) input.removeAttribute('aria-invalid');
      }
      if (!list.length) { errorBox.replaceChildren(); return; }
      const links = [];
      for (const e of list) {
        const key = (e.pointer || '').replace(/^#\//, '').split('/')[0] || 'name';
        const target = errors[key] || errors.name;
        target.err.hidden = false;
        target.err.textContent = (target.err.textContent ? target.err.textContent + ' ' : '') + e.detail;
        if (target.input) target.input.setAttribute('aria-invalid', 'true');
        links.push(h('li', {}, h('a', { href: '#' + (target.input ? target.input.id : 'event_types'),
          on: { click: (ev) => { ev.preventDefault(); (target.input || boxes[0]).focus(); } } },
          ({ name: 'Name', url: 'URL', description: 'Description', event_types: 'Events', rate_limit: 'Rate limit',
            headers: 'Custom headers', timeout_seconds: 'Request timeout', retry_schedule: 'Retry schedule',
            metadata: 'Labels' }[key] || key) + ': ' + e.detail)));
      }
      const summary = h('div', { class: 'error-summary', tabindex: '-1', role: 'alert' },
        h('h2', {}, 'There is a problem'), h('ul', {}, links));
      errorBox.replaceChildren(summary);
      summary.focus();
    }

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { name: name.value, url: url.value.trim(), description: description.value,
        event_types: boxes.filter((b) => b.checked).map((b) => b.value), ordered: ordered.checked };
      // The number as typed (the server says what is wrong with it), or null: no limit.
      if (rate.value.trim() !== '' || rate.validity.badInput) {
        body.rate_limit = { per_second: rate.value.trim() === '' ? rate.value : Number(rate.value) };
        if (burst.value.trim() !== '') body.rate_limit.burst = Number(burst.value);
      } else if (editing) {
        body.rate_limit = null;
      }
      // The settings as typed: the server names any line it refuses.
      const lines = (t) => t.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      const split = (l, sep) => { const i = l.indexOf(sep); return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()]; };
      if (headers.value.trim() !== '' || editing) {
        body.headers = {};
        for (const l of lines(headers.value)) { const [k, v] = split(l, ':'); body.headers[k] = v === HIDDEN ? null : v; }
      }
      if (timeout.value.trim() !== '' || timeout.validity.badInput) body.timeout_seconds = Number(timeout.value);
      else if (editing) body.timeout_seconds = null;
      if (schedule.value.trim() !== '' || editing)
        body.retry_schedule = schedule.value.split(/[\s,]+/).filter((x) => x !== '').map((x) => (isNaN(Number(x)) ? x : Number(x)));
      if (labels.value.trim() !== '' || editing) {
        body.metadata = {};
        for (const l of lines(labels.value)) { const [k, v] = split(l, '='); body.metadata[k] = v; }
      }
      submit.disabled = true;
      try {
        const saved = editing ? await call('PATCH', '/endpoints/' + encodeURIComponent(ep.id), body)
          : await call('POST', '/endpoints', body);
        say(editing ? 'Webhook endpoint updated.' : 'Webhook endpoint created.', false, true);
        location.hash = '#/endpoints/' + encodeURIComponent(saved.id);
      } catch (err) {
        if (err.status === 422 && err.problem.errors) showErrors(err.problem.errors);
        else if (err.status !== 401) showErrors([{ pointer: '#/name', detail: err.message }]);
      } finally {
        submit.disabled = false;
      }
    });
    show(editing ? 'Edit Endpoint' : 'New Webhook Endpoint', [form]);
  }

  // ---- one endpoint: details, secret, the event log -------------------------------------------
  const filters = [['all', 'All'], ['sent', 'Sent'], ['failed', 'Failed']];

  async function endpointPage(seq, id, filter) {
    let ep = await call('GET', '/endpoints/' + encodeURIComponent(id));
    if (seq !== routeSeq) return;
    const secretCode = h('code', { id: 'secret' }, '••••••••••••••••••••');
    const reveal = h('button', { type: 'button', class: 'secondary', id: 'reveal', 'aria-controls': 'secret' }, 'Reveal');
    let revealed = false;
    reveal.addEventListener('click', async () => {
      if (revealed) {
        secretCode.textContent = '••••••••••••••••••••';
        reveal.textContent = 'Reveal';
        revealed = false;
        return;
      }
      try {
        const r = await call('POST', '/endpoints/' + encodeURIComponent(id) + '/secret/reveal');
        secretCode.textContent = r.secret;
        reveal.textContent = 'Hide';
        revealed = true;
        say('Secret revealed. This was recorded in the audit log.');
      } catch (err) { if (err.status !== 401) say(err.message, true); }
    });
    const rotate = h('button', { type: 'button', class: 'secondary', id: 'rotate' }, 'Rotate secret');
    rotate.addEventListener('click', async () => {
      try {
        const r = await call('POST', '/endpoints/' + encodeURIComponent(id) + '/secret/rotate');
        secretCode.textContent = '••••••••••••••••••••';
        reveal.textContent = 'Reveal';
        revealed = false;
        say('New secret created. The previous one stays valid until ' + fmtTime(r.previous_secrets_expire_at) + '.');
      } catch (err) { if (err.status !== 401) say(err.message, true); }
    });
    const toggle = h('button', { type: 'button', class: 'secondary', id: 'toggle-enabled' }, ep.enabled ? 'Disable' : 'Enable');
    toggle.addEventListener('click', async () => {
      try {
        ep = await call('POST', '/endpoints/' + encodeURIComponent(id) + (ep.enabled ? '/disable' : '/enable'));
        toggle.textContent = ep.enabled ? 'Disable' : 'Enable';
        stateBadge.textContent = ep.enabled ? 'Enabled' : 'Disabled';
        stateBadge.className = 'badge ' + (ep.enabled ? 'sent' : 'disabled');
        disabledWhy.textContent = whyDisabled(ep);
        say(ep.enabled ? 'Endpoint enabled.' : 'Endpoint disabled: no events are sent until you enable it.');
      } catch (err) { if (err.status !== 401) say(err.message, true); }
    });
    const del = h('button', { type: 'button', class: 'danger', id: 'delete' }, 'Delete Endpoint');
    del.addEventListener('click', () => confirmDelete(ep, del));
    const stateBadge = h('span', { class: 'badge ' + (ep.enabled ? 'sent' : 'disabled') }, ep.enabled ? 'Enabled' : 'Disabled');
    // Why and since when it is disabled (by hand, or automatically: 410 Gone, days of failures).
    const whyDisabled = (e) => e.enabled ? '' : ' ' + [e.disabled_reason,
      e.disabled_at ? 'since ' + fmtTime(e.disabled_at) : ''].filter(Boolean).join(' · ');
    const disabledWhy = h('span', { id: 'disabled-reason', class: 'hint' }, whyDisabled(ep));

    // Recover failed messages: every failed delivery of events since a chosen time is sent again.
    const presets = [['1h', 'the last hour', 3600e3], ['1d', 'the last 24 hours', 86400e3],
      ['3d', 'the last 3 days', 3 * 86400e3], ['custom', 'a time I choose…', 0]];
    const sinceSelect = h('select', { id: 'recover-since', name: 'recover-since', 'aria-describedby': 'recover-hint' },
      presets.map(([v, label]) => h('option', { value: v }, label)));
    const customInput = h('input', { type: 'datetime-local', id: 'recover-custom', name: 'recover-custom',
      'aria-label': 'Recover failed messages of events since' });
    const customField = h('div', { class: 'field', id: 'recover-custom-field', hidden: true },
      h('label', { for: 'recover-custom' }, 'Since (your local time)'), customInput);
    sinceSelect.addEventListener('change', () => {
      customField.hidden = sinceSelect.value !== 'custom';
      if (!customField.hidden) customInput.focus();
    });
    const recover = h('button', { type: 'button', class: 'secondary', id: 'recover' }, 'Recover failed messages');
    recover.addEventListener('click', async () => {
      let since;
      const preset = presets.find(([v]) => v === sinceSelect.value);
      if (preset && preset[2]) since = new Date(Date.now() - preset[2]);
      else {
        since = customInput.value ? new Date(customInput.value) : null;
        if (!since || isNaN(since)) { say('Choose the date and time to recover failed messages since.', true); customInput.focus(); return; }
      }
      recover.disabled = true;
      try {
        const r = await call('POST', '/endpoints/' + encodeURIComponent(id) + '/recover', { since: since.toISOString() });
        say(r.reopened === 0 ? 'No failed messages since ' + fmtTime(r.since) + ': nothing to recover.'
          : (r.reopened === 1 ? '1 failed message is' : r.reopened + ' failed messages are') + ' being sent again.');
        loadLog();
      } catch (err) {
        if (err.status !== 401) {
          const first = err.problem.errors && err.problem.errors[0];
          say(first ? first.detail : err.message, true);
        }
      } finally {
        recover.disabled = false;
      }
    });

    const tabs = h('div', { class: 'filters', role: 'group', 'aria-label': 'Filter events' });
    const list = h('div', { id: 'events' });
    const more = h('div', {});
    const counts = {};
    for (const [key, label] of filters) {
      const count = h('span', { class: 'count', id: 'count-' + key }, '');
      counts[key] = count;
      const b = h('button', { type: 'button', id: 'filter-' + key, 'aria-pressed': String(key === filter) },
        label + ' ', count);
      b.addEventListener('click', () => { location.hash = '#/endpoints/' + encodeURIComponent(id) + '/' + key; });
      tabs.append(b);
    }

    let loading = false;
    let queued = false;
    async function loadLog(cursor) {
      if (loading) { queued = true; return; }
      loading = true;
      try {
        const q = '?filter=' + filter + '&limit=25' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
        const page = await call('GET', '/endpoints/' + encodeURIComponent(id) + '/events' + q);
        if (seq !== routeSeq) return;
        for (const [key] of filters) counts[key].textContent = '(' + page.counts[key] + ')';
        const rows = page.data.map((e) =>
          h('li', {}, h('a', { class: 'row', href: '#/endpoints/' + encodeURIComponent(id) + '/events/' + encodeURIComponent(e.event_id) },
            h('span', { class: 'title' }, e.event_type),
            h('span', { class: 'sub' }, fmtTime(e.created_at)),
            h('span', { class: 'sub' }, e.actor.name || e.actor.id || e.actor.type),
            h('span', { class: 'badge ' + e.delivery.state }, e.delivery.state))));
        let ul = list.querySelector('ul');
        if (!cursor) {
          if (!rows.length) {
            list.replaceChildren(h('p', { class: 'empty', id: 'empty-state' },
              filter === 'all'
                ? 'No events yet. Once you start creating, updating or deleting data in MetaPulse, the events will appear here.'
                : 'No ' + filter + ' events.'));
            ul = null;
          } else {
            ul = h('ul', { class: 'cards', 'aria-label': 'Events' });
            list.replaceChildren(ul);
          }
        }
        if (ul) ul.append(...rows);
        more.replaceChildren();
        if (page.next_cursor) {
          const b = h('button', { type: 'button', class: 'secondary', id: 'load-more' }, 'Load more');
          b.addEventListener('click', () => loadLog(page.next_cursor));
          more.append(h('div', { class: 'actions' }, b));
        }
      } catch (err) {
        if (err.status !== 401) say(err.message, true);
      } finally {
        loading = false;
        if (queued) { queued = false; loadLog(); }
      }
    }

    show(ep.name, [
      h('dl', { class: 'facts' },
        h('dt', {}, 'URL'), h('dd', { id: 'endpoint-url' }, ep.url),
        ep.description ? [h('dt', {}, 'Description'), h('dd', {}, ep.description)] : null,
        h('dt', {}, 'Status'), h('dd', {}, stateBadge, disabledWhy),
        h('dt', {}, 'Events'), h('dd', {}, ep.event_types.join(', ')),
        ep.ordered ? [h('dt', {}, 'Ordering'), h('dd', { id: 'ordering' },
          'One event at a time per resource, in the order they happened')] : null,
        ep.rate_limit ? [h('dt', {}, 'Rate limit'), h('dd', { id: 'rate-limit' },
          ep.rate_limit.per_second + ' requests per second at most (burst ' + ep.rate_limit.burst + ')')] : null,
        ep.timeout_seconds ? [h('dt', {}, 'Request timeout'), h('dd', { id: 'request-timeout' },
          ep.timeout_seconds + ' s')] : null,
        Object.keys(ep.headers || {}).length ? [h('dt', {}, 'Custom headers'), h('dd', { id: 'custom-headers' },
          h('ul', { class: 'plain' }, Object.entries(ep.headers).map(([k, v]) =>
            h('li', {}, h('code', {}, k + ': ' + (v === null ? '(hidden)' : v))))))] : null,
        (ep.retry_schedule || []).length ? [h('dt', {}, 'Retry schedule'), h('dd', { id: 'retry-schedule' },
          ep.retry_schedule.map(seconds).join(', ') + ' after each failure, then give up')] : null,
        Object.keys(ep.metadata || {}).length ? [h('dt', {}, 'Labels'), h('dd', { id: 'labels' },
          Object.entries(ep.metadata).map(([k, v]) => h('span', { class: 'badge' }, k + '=' + v)))] : null,
        ep.paused_until && Date.parse(ep.paused_until) > Date.now()
          ? [h('dt', {}, 'Paused'), h('dd', { id: 'paused-until' },
            'until ' + new Date(ep.paused_until).toLocaleString() + ' (the receiver answered 429 / 503)')] : null,
        ep.adaptive && Date.parse(ep.adaptive.until) > Date.now()
          ? [h('dt', {}, 'Slowed down'), h('dd', { id: 'slowed-down' },
            'to ' + Number(ep.adaptive.per_second.toPrecision(3)) + ' requests per second at ' +
            new Date(ep.adaptive.since).toLocaleString() + ', back to ' +
            Number(ep.adaptive.ceiling.toPrecision(3)) + ' by ' + new Date(ep.adaptive.until).toLocaleString() +
            ' (the receiver answered 429 / 503)')] : null),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#/endpoints/' + encodeURIComponent(id) + '/edit', id: 'edit' }, 'Edit Endpoint'),
        toggle, del),
      h('h2', {}, 'Signing secret'),
      h('p', { class: 'hint' }, 'Use it to verify the MetaPulse-Signature header of each request.'),
      h('div', { class: 'secret' }, secretCode, reveal, rotate),
      h('h2', {}, 'Recover failed messages'),
      h('p', { class: 'hint', id: 'recover-hint' }, 'Send every failed message of events created since then again, e.g. once your receiver works again.'),
      h('div', { class: 'recover' },
        h('div', { class: 'field' }, h('label', { for: 'recover-since' }, 'Events from'), sinceSelect),
        customField, recover),
      h('div', { class: 'toolbar' }, h('h2', {}, 'Events'), h('span', { class: 'live', id: 'live', 'aria-live': 'off' }, 'Connecting…')),
      tabs, list, more,
    ]);
    await loadLog();
    let timer = null;
    stopStream = openStream(id, () => {
      clearTimeout(timer);
      timer = setTimeout(() => { if (seq === routeSeq) loadLog(); }, 250);
    });
  }

  // The confirmation dialog of a destructive action: `run` goes only after "ok".
  function confirmAction(title, text, okLabel, opener, run) {
    const dlg = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    const ok = document.getElementById('confirm-ok');
    ok.textContent = okLabel;
    const cancel = document.getElementById('confirm-cancel');
    const close = () => { dlg.close(); ok.onclick = null; cancel.onclick = null; };
    cancel.onclick = () => { close(); opener.focus(); };
    dlg.oncancel = () => { ok.onclick = null; cancel.onclick = null; setTimeout(() => opener.focus(), 0); };
    ok.onclick = async () => {
      close();
      try { await run(); } catch (err) { if (err.status !== 401) say(err.message, true); }
    };
    dlg.showModal();
    cancel.focus();
  }

  function confirmDelete(ep, opener) {
    confirmAction('Delete Endpoint', 'Delete “' + ep.name + '”? No more events will be sent to ' + ep.url + '.',
      'Delete Endpoint', opener, async () => {
        await call('DELETE', '/endpoints/' + encodeURIComponent(ep.id));
        say('Webhook endpoint “' + ep.name + '” deleted.', false, true);
        location.hash = '#/';
      });
  }

  // ---- one event: who, when, data, every attempt ----------------------------------------------
  async function eventPage(seq, id, eventId) {
    const path = '/endpoints/' + encodeURIComponent(id) + '/events/' + encodeURIComponent(eventId);
    async function load(focus) {
      const d = await call('GET', path);
      if (seq !== routeSeq) return;
      let payload = d.event.payload;
      let data = null;
      try { const env = JSON.parse(payload); data = env.data !== undefined ? env.data : env; payload = JSON.stringify(env, null, 2); }
      catch (e) { data = null; }
      const resend = h('button', { type: 'button', class: 'secondary', id: 'resend' }, 'Resend');
      resend.addEventListener('click', async () => {
        try {
          await call('POST', path + '/resend');
          say('The event is being sent again.');
          await load(false);
        } catch (err) { if (err.status !== 401) say(err.message, true); }
      });
      const resendAll = h('button', { type: 'button', class: 'secondary', id: 'resend-all' }, 'Resend to all endpoints');
      resendAll.addEventListener('click', async () => {
        try {
          const r = await call('POST', '/events/' + encodeURIComponent(eventId) + '/resend');
          const skipped = r.skipped.disabled + r.skipped.deleted;
          say((r.reopened === 1 ? 'The event is being sent again to 1 endpoint.'
            : 'The event is being sent again to ' + r.reopened + ' endpoints.') +
            (r.skipped.open ? ' ' + r.skipped.open + ' still on the way.' : '') +
            (skipped ? ' ' + skipped + ' disabled or deleted, skipped.' : ''));
          await load(false);
        } catch (err) { if (err.status !== 401) say(err.message, true); }
      });
      const erased = d.event.erased_at !== null && d.event.erased_at !== undefined;
      const erase = h('button', { type: 'button', class: 'danger', id: 'erase' }, 'Erase payload');
      erase.addEventListener('click', () => confirmAction('Erase Payload',
        'Erase the data of this event and every response body of its attempts, for all endpoints? ' +
        'It can never be sent again; who triggered it, when, and each attempt’s status stay.',
        'Erase Payload', erase, async () => {
          const r = await call('POST', '/events/' + encodeURIComponent(eventId) + '/erase');
          say('The payload was erased.' + (r.closed ? ' ' + r.closed + ' open deliveries were stopped.' : ''));
          await load(false);
        }));
      const attempts = d.attempts.slice().reverse().map((a) => {
        const code = a.status === null ? 'No response' : String(a.status);
        const ok = a.status !== null && a.status >= 200 && a.status < 300;
        return h('details', { class: 'attempt' },
          h('summary', {},
            h('strong', {}, 'Attempt ' + a.number),
            h('span', { class: 'badge ' + (ok ? 'sent' : 'failed') }, code),
            h('span', { class: 'sub' }, fmtTime(a.started_at)),
            h('span', { class: 'sub' }, a.duration_ms + ' ms'),
            a.trigger === 'manual' ? h('span', { class: 'badge' }, 'manual resend') : null),
          h('div', { class: 'body' },
            h('dl', { class: 'facts' },
              h('dt', {}, 'Response Status Code'), h('dd', { class: 'status-code' }, code),
              a.error ? [h('dt', {}, 'Error'), h('dd', {}, a.error)] : null),
            h('h3', {}, 'Response Body' + (a.body_truncated ? ' (truncated)' : '')),
            h('pre', { class: 'response-body' }, a.response_body || '(empty)'),
            h('h3', {}, 'Response Headers'),
            h('pre', {}, a.response_headers.map((x) => x.name + ': ' + x.value).join('\n') || '(none)'),
            h('h3', {}, 'Request Headers'),
            h('pre', {}, a.request_headers.map((x) => x.name + ': ' + x.value).join('\n') || '(none)')));
      });
      const actor = d.event.actor;
      show(d.event.type, [
        h('p', {}, h('a', { href: '#/endpoints/' + encodeURIComponent(id) }, '← Back to the endpoint')),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Triggered by'), h('dd', { id: 'actor' }, (actor.name || actor.id) + (actor.type ? ' (' + actor.type + ')' : '')),
          h('dt', {}, 'When'), h('dd', { id: 'when' }, fmtTime(d.event.created_at)),
          h('dt', {}, 'Event ID'), h('dd', {}, d.event.id),
          h('dt', {}, 'Status'), h('dd', {}, h('span', { class: 'badge ' + d.delivery.state, id: 'delivery-state' }, d.delivery.state),
            d.delivery.reason ? ' ' + d.delivery.reason : ''),
          d.delivery.next_attempt_at ? [h('dt', {}, 'Next attempt'), h('dd', {}, fmtTime(d.delivery.next_attempt_at))]
            : d.delivery.waiting ? [h('dt', {}, 'Next attempt'), h('dd', { id: 'waiting' },
              'waiting: the earlier events of the same resource go first (ordered endpoint)')] : null),
        h('div', { class: 'actions' }, erased ? null : [resend, resendAll, erase]),
        h('h2', {}, 'Data'),
        erased ? h('p', { class: 'empty', id: 'erased' }, 'The payload was erased on ' + fmtTime(d.event.erased_at) +
            (d.event.erased_by ? ' by ' + d.event.erased_by : '') + '.')
          : [h('pre', { id: 'event-data' }, data !== null ? JSON.stringify(data, null, 2) : payload),
             h('details', {}, h('summary', {}, 'Full request body'), h('pre', {}, payload))],
        h('h2', {}, 'Attempts'),
        attempts.length ? h('div', { id: 'attempts' }, attempts) : h('p', { class: 'empty' }, 'No attempt has finished yet.'),
      ], focus);
    }
    await load(true);
    let timer = null;
    stopStream = openStream(id, (n) => {
      if (n && n.event_id && n.event_id !== eventId) return;
      clearTimeout(timer);
      timer = setTimeout(() => { if (seq === routeSeq) load(false).catch(() => {}); }, 250);
    });
  }

  // ---- routing -----------------------------------------------------------------------------
  async function render() {
    const seq = ++routeSeq;
    if (stopStream) { stopStream(); stopStream = null; }
    if (keepStatus > 0) --keepStatus;
    else clearStatus();
    if (!token) { signInPage(); return; }
    document.getElementById('session').hidden = false;
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (parts.length === 0) await listPage(seq);
      else if (parts[0] === 'new') await formPage(seq, null);
      else if (parts[0] === 'endpoints' && parts.length === 2) await endpointPage(seq, parts[1], 'all');
      else if (parts[0] === 'endpoints' && parts.length === 3 && parts[2] === 'edit') {
        const ep = await call('GET', '/endpoints/' + encodeURIComponent(parts[1]));
        if (seq === routeSeq) await formPage(seq, ep);
      } else if (parts[0] === 'endpoints' && parts.length === 3 && filters.some(([k]) => k === parts[2]))
        await endpointPage(seq, parts[1], parts[2]);
      else if (parts[0] === 'endpoints' && parts.length === 4 && parts[2] === 'events')
        await eventPage(seq, parts[1], parts[3]);
      else show('Not found', [h('p', {}, 'There is no such page. '), h('a', { href: '#/' }, 'Back to Webhooks')]);
    } catch (err) {
      if (err.status === 401) return;
      show(err.status === 404 ? 'Not found' : 'Something went wrong',
        [h('p', {}, err.message), h('p', {}, h('a', { href: '#/' }, 'Back to Webhooks'))]);
    }
  }

  window.addEventListener('hashchange', () => { render(); });
  render();
})();
