// hostwatch page: refreshes the health table, lists the logs, shows a tail and follows a log.
// Everything from the server is put into the page with textContent, never as HTML. The bearer
// token lives in sessionStorage (this tab only) and travels in the Authorization header only:
// the follow stream is read with fetch() because an EventSource cannot send headers.
'use strict';

(() => {
  const TOKEN_KEY = 'hostwatch.token';
  const MAX_LINES = 5000; // lines kept in the view; older ones are dropped as new ones come
  const body = document.body;
  const needsToken = body.dataset.auth === 'token';
  const protectHealth = body.dataset.protectHealth === 'yes';
  const refreshMs = Number(body.dataset.refreshMs) || 3000;
  const $ = (id) => document.getElementById(id);

  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';
  const authHeaders = () => (token() ? { Authorization: `Bearer ${token()}` } : {});
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // -- formatting: the same as the server's `figure` filter -----------------------------------
  function figure(value, unit) {
    if (value === null || value === undefined) return 'n/a';
    if (unit === 'percent') return `${value.toFixed(1)} %`;
    if (unit === 's') {
      const minutes = Math.floor(value / 60);
      const days = Math.floor(minutes / 1440);
      const hours = Math.floor((minutes % 1440) / 60);
      const mins = minutes % 60;
      return days ? `${days} d ${hours} h ${mins} min` : `${hours} h ${mins} min`;
    }
    return value.toFixed(2);
  }

  function size(bytes) {
    if (bytes === null) return 'n/a';
    let amount = bytes;
    for (const unit of ['B', 'KiB', 'MiB', 'GiB']) {
      if (amount < 1024 || unit === 'GiB') {
        return unit === 'B' ? `${amount} B` : `${amount.toFixed(1)} ${unit}`;
      }
      amount /= 1024;
    }
    return '';
  }

  function cell(tag, text) {
    const el = document.createElement(tag);
    el.textContent = text;
    return el;
  }

  async function problem(resp) {
    try {
      const doc = await resp.json();
      return doc.detail || `${resp.status} ${resp.statusText}`;
    } catch {
      return `${resp.status} ${resp.statusText}`;
    }
  }

  // -- token -------------------------------------------------------------------------------
  function showTokenForm(message) {
    $('token-form').hidden = false;
    $('token-forget').hidden = true;
    $('token-state').hidden = !message;
    $('token-state').textContent = message || '';
    $('token').focus();
  }

  function showTokenKept() {
    $('token-form').hidden = true;
    $('token-state').hidden = false;
    $('token-state').textContent = 'token kept for this tab';
    $('token-forget').hidden = false;
  }

  // A fetch with the token; a 401 asks for it again.
  async function api(path, options = {}) {
    const resp = await fetch(path, {
      cache: 'no-store',
      ...options,
      headers: { ...authHeaders(), ...(options.headers || {}) },
    });
    if (resp.status === 401 && needsToken) {
      sessionStorage.removeItem(TOKEN_KEY);
      showTokenForm('the token was not accepted');
    }
    return resp;
  }

  // -- health ------------------------------------------------------------------------------
  function setStatus(el, status) {
    for (const name of [...el.classList]) {
      if (name.startsWith('status-')) el.classList.remove(name);
    }
    el.classList.add(`status-${status}`);
  }

  function healthRow(key, component, unit) {
    const rows = $('checks').querySelectorAll('tr');
    for (const row of rows) {
      if (row.dataset.check === key && row.dataset.component === component) return row;
    }
    // a check the server did not list (cannot happen with today's checks): add it plainly
    const row = document.createElement('tr');
    row.dataset.check = key;
    row.dataset.component = component;
    row.dataset.unit = unit;
    const status = document.createElement('td');
    status.append(cell('span', ''), cell('span', ''));
    status.firstChild.className = 'dot';
    status.lastChild.className = 'status';
    const value = cell('td', '');
    value.className = 'value';
    row.append(cell('th', component ? `${key} ${component}` : key), value, cell('td', '—'),
      cell('td', '—'), status);
    $('checks').append(row);
    return row;
  }

  function renderHealth(doc) {
    const overall = $('overall');
    overall.textContent = doc.status;
    setStatus(overall, doc.status);
    $('hostname').textContent = doc.hostname;
    $('version').textContent = doc.version;
    document.title = `${doc.hostname} · hostwatch`;
    let time = '';
    for (const [key, entries] of Object.entries(doc.checks)) {
      for (const entry of entries) {
        const row = healthRow(key, entry.componentId || '', entry.observedUnit);
        const value = row.querySelector('td.value');
        value.textContent = figure(entry.observedValue, row.dataset.unit);
        value.dataset.value = entry.observedValue === null ? '' : String(entry.observedValue);
        row.querySelector('.status').textContent = entry.status;
        setStatus(row, entry.status);
        time = entry.time;
      }
    }
    $('health-time').textContent = `figures of ${time}`;
  }

  async function refreshHealth() {
    if (protectHealth && !token()) return;
    try {
      const resp = await api('/health');
      // 503 still carries the document: the host is failing, which is worth showing
      if (resp.ok || resp.status === 503) {
        renderHealth(await resp.json());
        $('health-note').textContent = '';
      } else {
        $('health-note').textContent = `· ${await problem(resp)}`;
      }
    } catch {
      $('health-note').textContent = '· cannot reach the host; retrying';
    }
  }

  // -- log list ----------------------------------------------------------------------------
  async function loadLogs() {
    $('logs').hidden = false;
    $('view').hidden = false;
    if (needsToken && !token()) {
      $('logs-note').textContent = 'enter the token above to see the logs';
      return;
    }
    const resp = await api('/logs');
    if (!resp.ok) {
      $('logs-note').textContent = await problem(resp);
      return;
    }
    const listing = await resp.json();
    $('logs-note').textContent = '';
    const rows = listing.map((entry) => {
      const row = document.createElement('tr');
      row.append(cell('th', entry.name), cell('td', size(entry.size)),
        cell('td', entry.mtime || 'missing'), cell('td', entry.readable ? 'yes' : 'no'));
      return row;
    });
    $('log-list').replaceChildren(...rows);
    const select = $('log');
    const chosen = select.value;
    select.replaceChildren(...listing.map((entry) => {
      const option = cell('option', entry.name);
      option.value = entry.name;
      return option;
    }));
    if (chosen) select.value = chosen;
  }

  // -- tail and follow ---------------------------------------------------------------------
  function appendLines(lines, fresh) {
    const view = $('lines');
    const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 24;
    const nodes = lines.map((text) => {
      const div = cell('div', text);
      div.className = fresh ? 'line new' : 'line';
      return div;
    });
    view.append(...nodes);
    while (view.childElementCount > MAX_LINES) view.firstElementChild.remove();
    if (atBottom || !fresh) view.scrollTop = view.scrollHeight;
  }

  function filters() {
    const contains = $('contains').value;
    const regex = $('regex').value;
    return { contains, regex };
  }

  async function showTail(event) {
    if (event) event.preventDefault();
    const name = $('log').value;
    if (!name) return;
    const { contains, regex } = filters();
    const params = new URLSearchParams({ lines: $('lines-n').value || '1', format: 'json' });
    if (contains) params.set('contains', contains);
    if (regex) params.set('regex', regex);
    $('view-note').textContent = 'loading…';
    const resp = await api(`/logs/${encodeURIComponent(name)}?${params}`);
    if (!resp.ok) {
      $('view-note').textContent = await problem(resp);
      return;
    }
    const lines = await resp.json();
    $('lines').replaceChildren();
    appendLines(lines, false);
    const notes = [`${lines.length} line${lines.length === 1 ? '' : 's'} of ${name}`];
    if (resp.headers.get('X-Hostwatch-Truncated')) notes.push('older lines dropped to fit the response');
    if (resp.headers.get('X-Hostwatch-Scan-Budget-Exhausted') === 'true') {
      notes.push('the search stopped after limits.scan_bytes; older lines were not read');
    }
    $('view-note').textContent = notes.join(' · ');
  }

  let following = null; // the AbortController of the running follow

  function stopFollow(note) {
    if (following) following.abort();
    following = null;
    $('follow').setAttribute('aria-pressed', 'false');
    $('follow').textContent = 'Follow';
    if (note !== undefined) $('view-note').textContent = note;
  }

  // One SSE block: `data:` lines are a log line, `event: end` says the stream reached its time.
  function parseEvent(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue; // a comment: the stream start or a heartbeat
      const [field, ...rest] = line.split(':');
      const value = rest.join(':').replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    return data.length ? { type, data: data.join('\n') } : null;
  }

  // Followed lines pass the same filters as a tail, applied by the server (RE2, linear time): a
  // RegExp here would backtrack, and could read a pattern differently from the server.
  async function followLoop(name, controller) {
    const { contains, regex } = filters();
    const params = new URLSearchParams();
    if (contains) params.set('contains', contains);
    if (regex) params.set('regex', regex);
    const query = params.toString();
    const path = `/logs/${encodeURIComponent(name)}/follow${query ? `?${query}` : ''}`;
    while (!controller.signal.aborted) {
      let resp;
      try {
        resp = await api(path, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
      } catch {
        if (controller.signal.aborted) return;
        $('view-note').textContent = 'connection lost; reconnecting';
        await sleep(2000);
        continue;
      }
      if (!resp.ok) {
        stopFollow(await problem(resp));
        return;
      }
      $('view-note').textContent = `following ${name}: new lines appear below`;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const event = parseEvent(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
            if (event && event.type === 'message') appendLines([event.data], true);
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      // the server ends a stream after follow.max_seconds: open the next one
    }
  }

  function toggleFollow() {
    if (following) {
      stopFollow('stopped following');
      return;
    }
    const name = $('log').value;
    if (!name) return;
    following = new AbortController();
    $('follow').setAttribute('aria-pressed', 'true');
    $('follow').textContent = 'Stop';
    followLoop(name, following);
  }

  // -- start -------------------------------------------------------------------------------
  function start() {
    refreshHealth();
    loadLogs();
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token').value = '';
    showTokenKept();
    start();
  });
  $('token-forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    stopFollow();
    $('log-list').replaceChildren();
    $('lines').replaceChildren();
    showTokenForm('token forgotten');
    $('logs-note').textContent = 'enter the token above to see the logs';
  });
  $('tail-form').addEventListener('submit', showTail);
  $('follow').addEventListener('click', toggleFollow);
  $('log').addEventListener('change', () => stopFollow(''));

  if (needsToken && !token()) showTokenForm('');
  else if (needsToken) showTokenKept();
  start();
  setInterval(refreshHealth, refreshMs);
})();
