/// The dashboard at `/`: one HTML page with its CSS and script inline (no CDN, no external asset, no framework),
/// so it works offline, under the server's Content-Security-Policy (`default-src 'none'`, `connect-src 'self'`) and
/// behind a path prefix. Its script reads the JSON API of the same origin by relative URL (`api/v1/listeners`,
/// `api/v1/audit`, `api/v1/hidden`, `api/v1/events?after=N`, `api/v1/history`) and shows the listeners in a sortable,
/// filterable table (`table#listeners`, one `tr` per socket with `data-port`, `data-proto` and `data-verdict`), the
/// findings worst first, the hidden check's state, a live feed of watch events and the listener count as an SVG chart.
/// A failed request leaves the last data in place and says so in one line.
///
/// Process names, units, container names and banners are chosen by whoever runs the process, so the script builds
/// the DOM from text nodes only and never parses API strings as HTML; class names come from closed lists.
/// Light and dark themes follow `prefers-color-scheme`, both at WCAG AA contrast; the verdict is always written out.
enum DashboardPage {
    /// The whole page: HTML with its CSS and script inline, no external asset.
    /// (A raw string: the page must never contain the three quotes and hash that end it, nor a backslash before a hash.)
    static let html: String = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <meta name="referrer" content="no-referrer">
        <link rel="icon" href="data:,">
        <title>portcullis: listening ports</title>
        <style>
        :root {
          color-scheme: light dark;
          --bg: #f5f6f8; --surface: #ffffff; --fg: #1b1d21; --muted: #4d535c; --border: #d3d7dd;
          --control: #6b7280; --accent: #0b57d0; --focus: #0b57d0; --stripe: #f1f3f6;
          --error-bg: #fff4e5; --error-fg: #6b2a00; --error-border: #b45309;
          --chart-line: #0b57d0; --chart-fill: rgba(11, 87, 208, 0.12); --grid: #d3d7dd;
          --critical-bg: #8f0d1a; --critical-fg: #ffffff; --high-bg: #b3261e; --high-fg: #ffffff;
          --medium-bg: #ffd666; --medium-fg: #3b2a00; --low-bg: #d6e4ff; --low-fg: #0a2a6b;
          --info-bg: #e4e7eb; --info-fg: #2a2f36; --filtered-bg: #d5f0ec; --filtered-fg: #0d4d45;
          --open-bg: #ffe2c7; --open-fg: #6b2a00; --ok-bg: #d3f2da; --ok-fg: #0f4d24;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #101216; --surface: #181b20; --fg: #e7e9ec; --muted: #aab1bb; --border: #343a42;
            --control: #8b93a0; --accent: #8ab4f8; --focus: #8ab4f8; --stripe: #20242a;
            --error-bg: #2b1d0e; --error-fg: #ffd8a8; --error-border: #d98a2b;
            --chart-line: #8ab4f8; --chart-fill: rgba(138, 180, 248, 0.16); --grid: #343a42;
            --critical-bg: #ff8a8a; --critical-fg: #1a0000; --high-bg: #ffb08f; --high-fg: #2a0d00;
            --medium-bg: #ffd666; --medium-fg: #2a1f00; --low-bg: #a8c7ff; --low-fg: #001a4d;
            --info-bg: #3a4048; --info-fg: #e7e9ec; --filtered-bg: #0f4d45; --filtered-fg: #d5f0ec;
            --open-bg: #6b3a12; --open-fg: #ffe2c7; --ok-bg: #1e5a30; --ok-fg: #d3f2da;
          }
        }
        * { box-sizing: border-box; }
        body {
          margin: 0; background: var(--bg); color: var(--fg);
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
        }
        a { color: var(--accent); }
        code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace; font-size: 0.92em; }
        :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
        .visually-hidden {
          position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
          clip: rect(0 0 0 0); white-space: nowrap; border: 0;
        }
        .skip { position: absolute; left: 1rem; top: -3rem; background: var(--surface); padding: 0.4rem 0.8rem; z-index: 2; }
        .skip:focus { top: 0.5rem; }
        .page-header {
          display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.25rem 1.5rem;
          padding: 0.75rem 1.25rem; background: var(--surface); border-bottom: 1px solid var(--border);
        }
        h1 { font-size: 1.35rem; margin: 0; }
        h1 .sub { font-weight: normal; color: var(--muted); font-size: 1rem; }
        h2 { font-size: 1.1rem; margin: 0 0 0.5rem; }
        h3 { font-size: 1rem; margin: 0; }
        .page-header p { margin: 0; }
        .meta { color: var(--muted); }
        button, input, select {
          font: inherit; color: var(--fg); background: var(--surface);
          border: 1px solid var(--control); border-radius: 4px; padding: 0.25rem 0.5rem;
        }
        button { cursor: pointer; }
        .error-line {
          flex-basis: 100%; margin: 0; padding: 0.3rem 0.6rem; font-size: 0.9rem;
          background: var(--error-bg); color: var(--error-fg); border-left: 4px solid var(--error-border);
        }
        main { display: grid; gap: 1rem; padding: 1rem 1.25rem 2rem; grid-template-columns: minmax(0, 1fr); }
        @media (min-width: 1100px) {
          main {
            grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
            grid-template-areas: "listeners listeners" "findings side" "events side";
            align-items: start;
          }
          #listeners-section { grid-area: listeners; }
          #findings-section { grid-area: findings; }
          #events-section { grid-area: events; }
          .side { grid-area: side; grid-row: span 2; }
        }
        .side { display: grid; gap: 1rem; align-content: start; min-width: 0; }
        .card {
          background: var(--surface); border: 1px solid var(--border); border-radius: 8px;
          padding: 0.75rem 1rem 1rem; min-width: 0;
        }
        .card > p, .card > ul { margin: 0.25rem 0 0.5rem; }
        .controls { display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: center; margin-bottom: 0.5rem; }
        .controls label { display: inline-flex; gap: 0.4rem; align-items: center; max-width: 100%; }
        .controls input[type="search"] { width: 18rem; min-width: 0; flex: 0 1 auto; }
        .count { color: var(--muted); margin: 0; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
        caption { text-align: left; }
        th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.45rem; border-bottom: 1px solid var(--border); }
        td { overflow-wrap: break-word; }
        thead th { padding: 0; white-space: nowrap; border-bottom: 2px solid var(--control); }
        thead th button {
          display: flex; width: 100%; gap: 0.3rem; align-items: center; justify-content: space-between;
          border: 0; border-radius: 0; background: transparent; padding: 0.35rem 0.5rem; font-weight: 600; text-align: left;
        }
        thead th button:hover { text-decoration: underline; }
        /* Inside the scrolling wrapper an outer ring would be clipped. */
        thead th button:focus-visible, .table-wrap:focus-visible { outline-offset: -3px; }
        .sort-icon { color: var(--muted); font-size: 0.8em; min-width: 1em; text-align: center; }
        th[aria-sort] .sort-icon { color: var(--fg); }
        tbody tr:nth-child(even) { background: var(--stripe); }
        td.endpoint { white-space: nowrap; }
        .small { display: block; color: var(--muted); font-size: 0.85em; }
        .empty { color: var(--muted); font-style: italic; }
        .badge {
          display: inline-block; padding: 0 0.45rem; border-radius: 999px; border: 1px solid transparent;
          font-size: 0.85em; font-weight: 600; white-space: nowrap;
          background: var(--info-bg); color: var(--info-fg);
        }
        .v-critical { background: var(--critical-bg); color: var(--critical-fg); }
        .v-high { background: var(--high-bg); color: var(--high-fg); }
        .v-medium { background: var(--medium-bg); color: var(--medium-fg); }
        .v-low { background: var(--low-bg); color: var(--low-fg); }
        .v-info { background: var(--info-bg); color: var(--info-fg); }
        .v-filtered { background: var(--filtered-bg); color: var(--filtered-fg); }
        .v-open { background: var(--open-bg); color: var(--open-fg); }
        .v-ok { background: var(--ok-bg); color: var(--ok-fg); }
        .findings, .events, .plain { list-style: none; margin: 0; padding: 0; }
        .finding { border-top: 1px solid var(--border); padding: 0.6rem 0; }
        .finding:first-child { border-top: 0; }
        .finding-head { display: flex; gap: 0.5rem; align-items: baseline; }
        .finding p { margin: 0.3rem 0 0; }
        .finding details { margin-top: 0.3rem; }
        .finding details ul { margin: 0.25rem 0 0; padding-left: 1.25rem; }
        .finding-id code { overflow-wrap: anywhere; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 0.75rem; margin: 0.5rem 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; }
        .hidden-findings li, .diagnostics li { margin: 0.25rem 0; }
        .diagnostics { color: var(--muted); font-size: 0.9rem; padding-left: 1.25rem; }
        figure { margin: 0; }
        svg.chart { display: block; width: 100%; height: auto; max-height: 14rem; }
        svg.chart .grid { stroke: var(--grid); stroke-width: 1; }
        svg.chart .line { fill: none; stroke: var(--chart-line); stroke-width: 2; }
        svg.chart .area { fill: var(--chart-fill); stroke: none; }
        svg.chart .dot { fill: var(--chart-line); }
        svg.chart text { fill: var(--muted); font-size: 13px; }
        figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.25rem; }
        .events { max-height: 28rem; overflow-y: auto; }
        .event {
          display: grid; grid-template-columns: max-content 7.5rem 1fr; gap: 0.5rem; align-items: baseline;
          padding: 0.25rem 0; border-top: 1px solid var(--border);
        }
        .event:first-child { border-top: 0; }
        .event time { color: var(--muted); }
        .event .note { grid-column: 2 / -1; }
        .ev-opened { background: var(--open-bg); color: var(--open-fg); }
        .ev-closed { background: var(--ok-bg); color: var(--ok-fg); }
        .ev-owner_changed { background: var(--medium-bg); color: var(--medium-fg); }
        @media (forced-colors: active) { .badge { border-color: CanvasText; } }
        </style>
        </head>
        <body>
        <a class="skip" href="#listeners-heading">Skip to the listeners</a>
        <header class="page-header">
          <h1>portcullis <span class="sub">listening ports</span></h1>
          <p id="glance" class="meta">Loading…</p>
          <p class="meta">Last refresh: <time id="refreshed-at">not yet</time>
            <button id="refresh-now" type="button">Refresh now</button></p>
          <p id="error-line" class="error-line" role="status" hidden></p>
        </header>
        <noscript><p class="card">This dashboard needs JavaScript. The same data is at
          <a href="api/v1/listeners">api/v1/listeners</a>, <a href="api/v1/audit">api/v1/audit</a>,
          <a href="api/v1/hidden">api/v1/hidden</a> and <a href="metrics">metrics</a>.</p></noscript>
        <main>
          <section id="listeners-section" class="card" aria-labelledby="listeners-heading">
            <h2 id="listeners-heading" tabindex="-1">Listeners</h2>
            <div class="controls">
              <label for="filter">Filter
                <input id="filter" type="search" placeholder="port, process, user, unit…" autocomplete="off"
                  aria-describedby="filter-help"></label>
              <span id="filter-help" class="visually-hidden">Shows the listeners whose cells contain every word typed.</span>
              <label for="verdict-filter">Verdict
                <select id="verdict-filter">
                  <option value="">all verdicts</option>
                  <option value="critical">critical</option>
                  <option value="high">high</option>
                  <option value="medium">medium</option>
                  <option value="low">low</option>
                  <option value="info">info</option>
                  <option value="filtered">filtered</option>
                  <option value="open">open</option>
                  <option value="ok">ok</option>
                </select></label>
              <p id="listener-count" class="count" role="status">Loading listeners…</p>
            </div>
            <div class="table-wrap" role="region" aria-labelledby="listeners-heading" tabindex="0">
              <table id="listeners">
                <caption id="listeners-caption" class="visually-hidden">Listening sockets</caption>
                <thead>
                  <tr>
                    <th scope="col" data-key="verdict" aria-sort="ascending"><button type="button">Verdict</button></th>
                    <th scope="col" data-key="proto"><button type="button">Proto</button></th>
                    <th scope="col" data-key="endpoint"><button type="button">Address:port</button></th>
                    <th scope="col" data-key="service"><button type="button">Service</button></th>
                    <th scope="col" data-key="exposure"><button type="button">Exposure</button></th>
                    <th scope="col" data-key="process"><button type="button">Process</button></th>
                    <th scope="col" data-key="user"><button type="button">User</button></th>
                    <th scope="col" data-key="unit"><button type="button">Unit</button></th>
                    <th scope="col" data-key="container"><button type="button">Container</button></th>
                    <th scope="col" data-key="namespace"><button type="button">Namespace</button></th>
                  </tr>
                </thead>
                <tbody id="listener-rows"><tr><td colspan="10" class="empty">Loading…</td></tr></tbody>
              </table>
            </div>
            <ul id="listener-diagnostics" class="diagnostics" aria-label="What the inventory could not see"></ul>
          </section>

          <section id="findings-section" class="card" aria-labelledby="findings-heading">
            <h2 id="findings-heading">Findings</h2>
            <p id="findings-summary" class="meta">Loading the audit…</p>
            <ol id="findings" class="findings"></ol>
          </section>

          <div class="side">
            <section id="hidden-section" class="card" aria-labelledby="hidden-heading">
              <h2 id="hidden-heading">Hidden ports check</h2>
              <div id="hidden-body"><p class="meta">Loading…</p></div>
            </section>

            <section id="history-section" class="card" aria-labelledby="history-heading">
              <h2 id="history-heading">Listeners over the last 24 hours</h2>
              <figure id="history-figure"><figcaption class="meta">Loading…</figcaption></figure>
            </section>
          </div>

          <section id="events-section" class="card" aria-labelledby="events-heading">
            <h2 id="events-heading">Live events</h2>
            <p id="events-status" class="meta">Listeners opened, closed or changing owner, newest first.</p>
            <ol id="events" class="events" aria-live="polite" aria-relevant="additions" aria-label="Watch events, newest first"></ol>
          </section>
        </main>
        <script>
        'use strict';
        (function () {
          // Every string from the API is untrusted (process names, units, container names are chosen by whoever
          // runs the process): the DOM is built with createElement and text nodes only, never from HTML strings.
          const VERDICTS = ['critical', 'high', 'medium', 'low', 'info', 'filtered', 'open', 'ok'];
          const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
          const EXPOSURES = {
            loopback: 'loopback',
            all_interfaces_ipv4: 'all IPv4',
            all_interfaces_ipv6: 'all IPv6',
            all_interfaces_dual_stack: 'all IPv4 + IPv6',
            link_local: 'link-local',
            specific_address: 'one address',
          };
          const EVENT_KINDS = { opened: 'opened', closed: 'closed', owner_changed: 'owner changed' };
          const REFRESH_MS = 20000;
          const EVENTS_MS = 3000;
          const HISTORY_MS = 60000;
          const EVENTS_KEPT = 200;
          const TIMEOUT_MS = 10000;

          const byId = (id) => document.getElementById(id);
          const state = {
            rows: [], sortKey: 'verdict', descending: false, lastEventId: 0, eventsLoaded: false,
            failures: new Map(), auditSummary: null, hiddenClean: null,
          };

          function text(value) {
            return value === null || value === undefined ? '' : String(value);
          }

          function node(tag, className, ...children) {
            const element = document.createElement(tag);
            if (className) element.className = className;
            for (const child of children.flat(Infinity)) {
              if (child === null || child === undefined || child === false) continue;
              element.append(child instanceof Node ? child : document.createTextNode(String(child)));
            }
            return element;
          }

          // A class only from a closed list: an unexpected value from the API never becomes a class name.
          function badge(word, known, prefix) {
            const label = text(word) || 'unknown';
            const span = node('span', 'badge', label);
            if (known.includes(label)) span.classList.add(prefix + label);
            return span;
          }

          // A snake_case word from the API (`not_permitted`) as words.
          function words(value) {
            return text(value).replace(/_/g, ' ');
          }

          // The server's messages start in lower case, to follow a colon; alone they read better capitalised.
          function sentence(value) {
            const message = text(value);
            return message.charAt(0).toUpperCase() + message.slice(1);
          }

          function plural(count, one, many) {
            return count + ' ' + (count === 1 ? one : many);
          }

          const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
          const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

          function timeNode(value, withDate) {
            const date = value instanceof Date ? value : new Date(text(value));
            if (Number.isNaN(date.getTime())) return document.createTextNode(text(value) || 'unknown');
            const element = node('time', null, withDate ? dateFormat.format(date) : clockFormat.format(date));
            element.dateTime = date.toISOString();
            return element;
          }

          function relative(value) {
            const ms = new Date(text(value)).getTime() - Date.now();
            if (Number.isNaN(ms)) return '';
            const minutes = Math.round(Math.abs(ms) / 60000);
            const span = minutes < 1 ? 'less than a minute' : minutes < 120 ? plural(minutes, 'minute', 'minutes')
              : plural(Math.round(minutes / 60), 'hour', 'hours');
            return ms >= 0 ? ' (in ' + span + ')' : ' (' + span + ' ago)';
          }

          // ---- requests and the error line ----

          class RequestError extends Error {}

          function describeStatus(status) {
            if (status === 401) return 'HTTP 401: not signed in (reload the page to sign in)';
            if (status === 403) return 'HTTP 403: not allowed';
            if (status === 404) return 'HTTP 404: this server has no such endpoint';
            return 'HTTP ' + status;
          }

          async function getJSON(path) {
            const controller = new AbortController();
            const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
            try {
              let response;
              try {
                response = await fetch(path, {
                  headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin',
                  signal: controller.signal,
                });
              } catch (error) {
                throw new RequestError(controller.signal.aborted ? 'no answer within ' + TIMEOUT_MS / 1000 + ' s'
                  : 'network error: the server did not answer');
              }
              let body = null;
              try { body = await response.json(); } catch (error) { body = null; }
              return { status: response.status, body: body };
            } finally {
              clearTimeout(timer);
            }
          }

          // The status, with the server's own explanation when it sent one ({"error": "..."}), cut short.
          function refusal(answer) {
            const reason = answer.body && typeof answer.body.error === 'string' ? ': ' + answer.body.error.slice(0, 200) : '';
            return new RequestError(describeStatus(answer.status) + reason);
          }

          async function getDocument(path) {
            const answer = await getJSON(path);
            if (answer.status !== 200) throw refusal(answer);
            if (!answer.body || typeof answer.body !== 'object') throw new RequestError('the answer is not a JSON object');
            return answer.body;
          }

          // One entry per failing request; the line keeps the time of the first failure so a poll failing every
          // few seconds does not make screen readers announce it again and again.
          function failed(what, error) {
            const message = error instanceof RequestError ? error.message : 'could not read the answer (' + text(error) + ')';
            const previous = state.failures.get(what);
            if (previous && previous.message === message) return;
            state.failures.set(what, { message: message, since: new Date() });
            renderErrors();
          }

          function succeeded(what) {
            if (state.failures.delete(what)) renderErrors();
          }

          function renderErrors() {
            const line = byId('error-line');
            if (state.failures.size === 0) {
              line.hidden = true;
              line.textContent = '';
              return;
            }
            // Requests failing the same way (the usual case: server down, or credentials gone) share one sentence.
            const byMessage = new Map();
            for (const [what, failure] of state.failures) {
              const group = byMessage.get(failure.message) || { names: [], since: failure.since };
              group.names.push(what);
              if (failure.since < group.since) group.since = failure.since;
              byMessage.set(failure.message, group);
            }
            const parts = [];
            for (const [message, group] of byMessage) {
              parts.push(group.names.join(', ') + ' (' + message + ') since ' + clockFormat.format(group.since));
            }
            line.textContent = 'Could not refresh ' + parts.join('; ') + '. Showing the last data received.';
            line.hidden = false;
          }

          // ---- listeners ----

          const COLUMNS = ['verdict', 'proto', 'endpoint', 'service', 'exposure', 'process', 'user', 'unit', 'container', 'namespace'];

          function unique(values) {
            return [...new Set(values.filter((value) => value !== ''))];
          }

          function containerName(owner) {
            const info = owner.container_info;
            if (info && typeof info === 'object') {
              if (info.name) return text(info.name);
              if (info.id) return text(info.id).slice(0, 12);
              if (info.runtime) return text(info.runtime);
            }
            return owner.container ? text(owner.container).slice(0, 12) : '';
          }

          function endpointText(address, port) {
            return (address.includes(':') ? '[' + address + ']' : address) + ':' + port;
          }

          function toRow(socket) {
            const owners = Array.isArray(socket.owners) ? socket.owners.filter((o) => o && typeof o === 'object') : [];
            const verdict = text(socket.verdict) || 'unknown';
            const rank = VERDICTS.indexOf(verdict);
            const address = text(socket.local_address);
            const port = Number(socket.local_port);
            const netns = socket.netns && typeof socket.netns === 'object' ? socket.netns : {};
            const row = {
              verdict: verdict,
              verdictRank: rank < 0 ? VERDICTS.length : rank,
              reason: text(socket.verdict_reason),
              proto: text(socket.proto),
              address: address,
              port: Number.isFinite(port) ? port : -1,
              endpoint: endpointText(address, text(socket.local_port)),
              service: text(socket.service),
              exposure: text(socket.exposure),
              exposureLabel: EXPOSURES[text(socket.exposure)] || text(socket.exposure),
              processes: owners.map((o) => ({
                label: text(o.name) + ' (' + text(o.pid) + ')',
                cmdline: text(o.cmdline),
                deleted: o.exe_deleted === true,
                replaced: o.exe_replaced === true,
              })),
              unowned: owners.length ? '' : 'no owner' + (socket.unowned_reason ? ': ' + words(socket.unowned_reason) : ''),
              users: unique(owners.length ? owners.map((o) => text(o.user !== null && o.user !== undefined ? o.user : o.uid))
                : [text(socket.user !== null && socket.user !== undefined ? socket.user : socket.uid)]),
              units: unique(owners.map((o) => text(o.unit))),
              containers: unique(owners.map(containerName)),
              namespace: text(netns.name) || (netns.inode ? 'netns ' + text(netns.inode) : ''),
            };
            row.process = row.processes.length ? row.processes.map((p) => p.label).join(', ') : row.unowned;
            row.user = row.users.join(', ');
            row.unit = row.units.join(', ');
            row.container = row.containers.join(', ');
            row.search = [row.verdict, row.reason, row.proto, row.endpoint, row.service, row.exposure, row.exposureLabel,
              row.process, row.user, row.unit, row.container, row.namespace].join('\n').toLowerCase();
            return row;
          }

          function sortValue(row, key) {
            if (key === 'verdict') return row.verdictRank;
            if (key === 'endpoint') return row.port;
            return row[key];
          }

          const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

          function compareValues(a, b) {
            if (typeof a === 'number' && typeof b === 'number') return a - b;
            return collator.compare(text(a), text(b));
          }

          function compareRows(a, b) {
            const x = sortValue(a, state.sortKey);
            const y = sortValue(b, state.sortKey);
            // Empty cells stay at the bottom whichever way the column is sorted.
            if (x === '' && y !== '') return 1;
            if (y === '' && x !== '') return -1;
            const primary = compareValues(x, y) * (state.descending ? -1 : 1);
            if (primary !== 0) return primary;
            return a.verdictRank - b.verdictRank || a.port - b.port || collator.compare(a.proto, b.proto)
              || collator.compare(a.address, b.address);
          }

          function matches(row, words, verdict) {
            if (verdict && row.verdict !== verdict) return false;
            return words.every((word) => row.search.includes(word));
          }

          function cell(className, ...children) {
            return node('td', className, ...children);
          }

          function listCell(values) {
            if (values.length === 0) return cell('empty', '—');
            return cell(null, values.map((value, index) => index === 0 ? value : [node('br'), value]));
          }

          function renderRow(row) {
            const tr = document.createElement('tr');
            tr.setAttribute('data-port', String(row.port));
            tr.setAttribute('data-proto', row.proto);
            tr.setAttribute('data-verdict', row.verdict);
            tr.append(
              cell(null, badge(row.verdict, VERDICTS, 'v-'), row.reason ? node('span', 'small', row.reason) : null),
              cell(null, row.proto),
              cell('endpoint mono', row.endpoint),
              row.service ? cell(null, row.service) : cell('empty', '—'),
              cell(null, row.exposureLabel),
            );
            if (row.processes.length === 0) {
              tr.append(cell('empty', row.unowned));
            } else {
              const td = cell(null);
              row.processes.forEach((process, index) => {
                const line = node('span', null, process.label);
                if (process.cmdline) line.title = process.cmdline;
                td.append(index === 0 ? '' : node('br'), line);
                if (process.deleted) td.append(' ', node('strong', null, '(executable deleted)'));
                if (process.replaced) td.append(' ', node('strong', null, '(executable replaced)'));
              });
              tr.append(td);
            }
            tr.append(listCell(row.users), listCell(row.units), listCell(row.containers),
              row.namespace ? cell(null, row.namespace) : cell('empty', '—'));
            return tr;
          }

          function renderListeners() {
            const words = byId('filter').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
            const verdict = byId('verdict-filter').value;
            const shown = state.rows.filter((row) => matches(row, words, verdict)).sort(compareRows);
            const body = node('tbody');
            body.id = 'listener-rows';
            for (const row of shown) body.append(renderRow(row));
            if (shown.length === 0) {
              const td = cell('empty', state.rows.length ? 'No listener matches the filter.' : 'No listening sockets.');
              td.colSpan = COLUMNS.length;
              body.append(node('tr', null, td));
            }
            byId('listener-rows').replaceWith(body);
            const total = state.rows.length;
            byId('listener-count').textContent = shown.length + ' of ' + plural(total, 'listener', 'listeners');
            for (const option of byId('verdict-filter').options) {
              if (!option.value) continue;
              const count = state.rows.filter((row) => row.verdict === option.value).length;
              option.textContent = option.value + ' (' + count + ')';
            }
            renderSortState();
          }

          function renderSortState() {
            let label = '';
            for (const th of document.querySelectorAll('#listeners thead th')) {
              let icon = th.querySelector('.sort-icon');
              if (!icon) {
                icon = node('span', 'sort-icon');
                icon.setAttribute('aria-hidden', 'true');
                th.querySelector('button').append(icon);
              }
              if (th.dataset.key === state.sortKey) {
                th.setAttribute('aria-sort', state.descending ? 'descending' : 'ascending');
                icon.textContent = state.descending ? '▼' : '▲';
                label = th.querySelector('button').firstChild.textContent.trim();
              } else {
                th.removeAttribute('aria-sort');
                icon.textContent = '↕';
              }
            }
            const order = state.sortKey === 'verdict' ? (state.descending ? 'mildest first' : 'worst first')
              : (state.descending ? 'descending' : 'ascending');
            byId('listeners-caption').textContent = 'Listening sockets, sorted by ' + label.toLowerCase() + ', ' + order;
          }

          function renderDiagnostics(list, diagnostics) {
            list.replaceChildren();
            for (const diagnostic of Array.isArray(diagnostics) ? diagnostics : []) {
              if (!diagnostic || typeof diagnostic !== 'object') continue;
              list.append(node('li', null, text(diagnostic.severity) + ': ' + text(diagnostic.message)));
            }
            list.hidden = list.childElementCount === 0;
          }

          async function loadListeners() {
            const documentBody = await getDocument('api/v1/listeners');
            if (!Array.isArray(documentBody.sockets)) throw new RequestError('the answer has no sockets');
            state.rows = documentBody.sockets.filter((s) => s && typeof s === 'object').map(toRow);
            renderListeners();
            renderDiagnostics(byId('listener-diagnostics'), documentBody.diagnostics);
            renderGlance();
            const refreshed = byId('refreshed-at');
            refreshed.dateTime = new Date().toISOString();
            refreshed.textContent = clockFormat.format(new Date());
          }

          // ---- findings ----

          function severityRank(severity) {
            const rank = SEVERITIES.indexOf(text(severity));
            return rank < 0 ? SEVERITIES.length : rank;
          }

          function renderFindings(audit) {
            const findings = (Array.isArray(audit.findings) ? audit.findings : []).filter((f) => f && typeof f === 'object');
            findings.sort((a, b) => severityRank(a.severity) - severityRank(b.severity)
              || collator.compare(text(a.title), text(b.title)));
            const bySeverity = SEVERITIES.map((s) => [s, findings.filter((f) => text(f.severity) === s).length])
              .filter((entry) => entry[1] > 0).map((entry) => entry[1] + ' ' + entry[0]);
            const summary = audit.summary && typeof audit.summary === 'object' ? audit.summary : {};
            let line = findings.length === 0 ? 'No findings.' : plural(findings.length, 'finding', 'findings') + ': '
              + bySeverity.join(', ') + '; worst first.';
            const suppressed = Number(summary.suppressed);
            if (suppressed > 0) line += ' ' + suppressed + ' suppressed by policy.';
            byId('findings-summary').textContent = line;
            state.auditSummary = findings.length === 0 ? 'no findings' : plural(findings.length, 'finding', 'findings')
              + ' (' + bySeverity.join(', ') + ')';

            const list = byId('findings');
            list.replaceChildren();
            for (const finding of findings) {
              const item = node('li', 'finding',
                node('div', 'finding-head', badge(finding.severity, SEVERITIES, 'v-'), node('h3', null, text(finding.title))));
              const fix = text(finding.fix !== undefined && finding.fix !== null ? finding.fix : finding.remediation);
              if (fix) item.append(node('p', null, node('strong', null, 'Fix: '), fix));
              item.append(node('p', 'finding-id meta', 'ID: ', node('code', null, text(finding.id))));
              const evidence = Array.isArray(finding.evidence) ? finding.evidence : [];
              if (evidence.length) {
                item.append(node('details', null, node('summary', null, 'Evidence (' + evidence.length + ')'),
                  node('ul', null, evidence.map((entry) => node('li', null, text(entry))))));
              }
              list.append(item);
            }
          }

          async function loadAudit() {
            renderFindings(await getDocument('api/v1/audit'));
            renderGlance();
          }

          // ---- hidden check ----

          function fact(list, term, ...value) {
            list.append(node('dt', null, term), node('dd', null, ...value));
          }

          function renderHidden(report) {
            const body = byId('hidden-body');
            const findings = Array.isArray(report.findings) ? report.findings.filter((f) => f && typeof f === 'object') : [];
            const clean = report.clean === true;
            state.hiddenClean = clean ? 'clean' : 'NOT clean';
            const mark = node('span', clean ? 'badge v-ok' : 'badge v-critical', clean ? 'clean' : 'not clean');
            const status = node('p', null, mark, ' ',
              clean ? 'Nothing hidden: every port in use and every process is visible to the usual tools.'
                : plural(findings.length, 'finding', 'findings') + ': something is in use but hidden from the usual tools.');
            const facts = node('dl', 'facts');
            fact(facts, 'Checked', timeNode(report.checked_at, true), relative(report.checked_at));
            fact(facts, 'Next check', timeNode(report.next_check_at, true), relative(report.next_check_at));
            if (report.duration_ms !== undefined) fact(facts, 'Took', text(report.duration_ms) + ' ms');
            fact(facts, 'Looked at', text(report.rounds) + ' rounds, ' + text(report.candidates) + ' candidates, '
              + text(report.tasks_counted) + ' tasks');
            if (report.running_since) fact(facts, 'Now', 'a new check has been running since ', timeNode(report.running_since));
            const parts = [status, facts];
            if (findings.length) {
              parts.push(node('h3', null, 'Findings'), node('ul', 'hidden-findings', findings.map((f) => {
                const where = [text(f.proto), f.port !== null && f.port !== undefined ? 'port ' + text(f.port) : '']
                  .filter(Boolean).join(' ');
                return node('li', null, f.alarm === true ? node('strong', null, 'alarm: ') : '', words(f.kind),
                  where ? ' (' + where + ')' : '', ': ', text(f.explanation),
                  Array.isArray(f.owner_pids) && f.owner_pids.length ? ' pids ' + f.owner_pids.map(text).join(', ') : '');
              })));
            }
            const hints = Array.isArray(report.tamper_hints) ? report.tamper_hints : [];
            if (hints.length) {
              parts.push(node('h3', null, 'Tampering hints'), node('ul', 'hidden-findings',
                hints.map((h) => node('li', null, words(h && h.kind) + ': ' + text(h && h.detail)))));
            }
            const diagnostics = node('ul', 'diagnostics');
            diagnostics.setAttribute('aria-label', 'What the hidden check could not see');
            renderDiagnostics(diagnostics, report.diagnostics);
            parts.push(diagnostics);
            body.replaceChildren(...parts);
          }

          function renderHiddenPending(pending) {
            state.hiddenClean = 'first check running';
            const started = pending && pending.started_at ? [' (started ', timeNode(pending.started_at), ')'] : [];
            byId('hidden-body').replaceChildren(node('p', null, node('span', 'badge v-info', 'running'), ' First check running',
              started, '. Its result appears here when it finishes.'));
          }

          // The last check could not run to the end (503 with "state": "failed"): say so, and when the next one is due.
          function renderHiddenFailed(failure) {
            state.hiddenClean = 'last check failed';
            const facts = node('dl', 'facts');
            fact(facts, 'Checked', timeNode(failure.checked_at, true), relative(failure.checked_at));
            fact(facts, 'Next check', timeNode(failure.next_check_at, true), relative(failure.next_check_at));
            byId('hidden-body').replaceChildren(node('p', null, node('span', 'badge v-medium', 'failed'),
              ' The last check did not finish: ', text(failure.error) || 'no reason given', '.'), facts);
          }

          function renderHiddenDisabled(answer) {
            state.hiddenClean = 'off';
            byId('hidden-body').replaceChildren(node('p', null, node('span', 'badge v-info', 'off'), ' ',
              sentence(answer.error) || 'The hidden check is turned off on this server.'));
          }

          async function loadHidden() {
            const answer = await getJSON('api/v1/hidden');
            const kind = answer.body && typeof answer.body === 'object' ? answer.body.state : undefined;
            if (answer.status === 503 && kind === 'failed') {
              renderHiddenFailed(answer.body);
            } else if (answer.status === 503) {
              renderHiddenPending(answer.body);
            } else if (answer.status === 404 && kind === 'disabled') {
              renderHiddenDisabled(answer.body);
            } else if (answer.status !== 200) {
              throw refusal(answer);
            } else if (!answer.body || typeof answer.body !== 'object') {
              throw new RequestError('the answer is not a JSON object');
            } else {
              renderHidden(answer.body);
            }
            renderGlance();
          }

          function renderGlance() {
            const parts = [];
            if (state.rows.length || state.auditSummary) {
              const counts = VERDICTS.map((v) => [v, state.rows.filter((r) => r.verdict === v).length]).filter((e) => e[1] > 0)
                .map((e) => e[1] + ' ' + e[0]);
              parts.push(plural(state.rows.length, 'listener', 'listeners') + (counts.length ? ' (' + counts.join(', ') + ')' : ''));
            }
            if (state.auditSummary) parts.push(state.auditSummary);
            if (state.hiddenClean) parts.push('hidden check: ' + state.hiddenClean);
            byId('glance').textContent = parts.join(' · ') || 'Loading…';
          }

          // ---- history chart ----

          const SVG = 'http://www.w3.org/2000/svg';

          function svgNode(tag, attributes, content) {
            const element = document.createElementNS(SVG, tag);
            for (const name of Object.keys(attributes)) element.setAttribute(name, String(attributes[name]));
            if (content !== undefined) element.textContent = content;
            return element;
          }

          function niceCeiling(value) {
            const step = Math.pow(10, Math.floor(Math.log10(value)));
            for (const factor of [1, 2, 2.5, 5, 10]) {
              if (factor * step >= value) return factor * step;
            }
            return 10 * step;
          }

          function renderHistory(history) {
            const figure = byId('history-figure');
            const points = (Array.isArray(history.samples) ? history.samples : [])
              .map((s) => ({ time: new Date(text(s && s.time)).getTime(), count: Number(s && s.listeners) }))
              .filter((p) => Number.isFinite(p.time) && Number.isFinite(p.count))
              .sort((a, b) => a.time - b.time);
            if (points.length === 0) {
              figure.replaceChildren(node('figcaption', null, 'No history yet: the server records one sample a minute.'));
              return;
            }
            const width = 520;
            const height = 180;
            const left = 44;
            const right = 12;
            const top = 12;
            const bottom = 30;
            const first = points[0].time;
            const last = points[points.length - 1].time;
            const span = Math.max(last - first, 1);
            const counts = points.map((p) => p.count);
            const min = Math.min(...counts);
            const max = Math.max(...counts);
            const ceiling = niceCeiling(Math.max(max, 1));
            // A lone sample sits in the middle rather than against the axis.
            const x = (time) => points.length === 1 ? (left + width - right) / 2
              : left + ((time - first) / span) * (width - left - right);
            const y = (count) => top + (1 - count / ceiling) * (height - top - bottom);

            const svg = svgNode('svg', { viewBox: '0 0 ' + width + ' ' + height, class: 'chart', role: 'img',
              'aria-labelledby': 'history-title', 'aria-describedby': 'history-caption' });
            svg.append(svgNode('title', { id: 'history-title' }, 'Number of listeners over time'));
            // Counts are whole numbers: the middle line only when it falls on one.
            for (const value of Number.isInteger(ceiling / 2) ? [0, ceiling / 2, ceiling] : [0, ceiling]) {
              svg.append(svgNode('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
              svg.append(svgNode('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, String(value)));
            }
            // A step line (the count holds until the next sample); a gap of over five minutes (server down) breaks it.
            let line = '';
            let area = '';
            let runStart = null;
            let previous = null;
            const closeRun = () => {
              if (runStart !== null) area += 'V' + y(0) + 'H' + runStart + 'Z';
            };
            for (const point of points) {
              if (previous === null || point.time - previous.time > 5 * 60000) {
                closeRun();
                runStart = x(point.time);
                line += 'M' + x(point.time) + ' ' + y(point.count);
                area += 'M' + x(point.time) + ' ' + y(0) + 'V' + y(point.count);
              } else {
                line += 'H' + x(point.time) + 'V' + y(point.count);
                area += 'H' + x(point.time) + 'V' + y(point.count);
              }
              previous = point;
            }
            closeRun();
            svg.append(svgNode('path', { class: 'area', d: area }), svgNode('path', { class: 'line', d: line }));
            const end = points[points.length - 1];
            svg.append(svgNode('circle', { class: 'dot', cx: x(end.time), cy: y(end.count), r: 3.5 }));
            if (points.length > 1) {
              svg.append(svgNode('text', { x: left, y: height - 8, 'text-anchor': 'start' }, clockFormat.format(new Date(first))));
            }
            svg.append(svgNode('text', { x: points.length > 1 ? width - right : x(last), y: height - 8,
              'text-anchor': points.length > 1 ? 'end' : 'middle' }, clockFormat.format(new Date(last))));

            const caption = points.length === 1
              ? node('figcaption', null, 'One sample so far, at ', timeNode(new Date(last), true), ': '
                + plural(end.count, 'listener', 'listeners') + '. The server adds one a minute.')
              : node('figcaption', null, 'From ', timeNode(new Date(first), true), ' to ', timeNode(new Date(last), true),
                ' (' + plural(points.length, 'sample', 'samples') + '): between ' + min + ' and ' + max
                + ' listeners; ' + end.count + ' at the last sample.');
            caption.id = 'history-caption';
            figure.replaceChildren(svg, caption);
          }

          async function loadHistory() {
            renderHistory(await getDocument('api/v1/history'));
          }

          // ---- live events ----

          function ownersText(owners) {
            if (!Array.isArray(owners) || owners.length === 0) return '';
            return owners.filter((o) => o && typeof o === 'object')
              .map((o) => text(o.name) + ' (' + text(o.pid) + ')' + (o.user ? ' as ' + text(o.user) : '')).join(', ');
          }

          function renderEvent(event) {
            const kind = text(event.event);
            const address = text(event.local_address);
            const parts = [text(event.proto) + ' ' + endpointText(address, text(event.local_port))];
            if (event.service) parts.push('(' + text(event.service) + ')');
            if (event.exposure) parts.push('on ' + (EXPOSURES[text(event.exposure)] || text(event.exposure)));
            if (event.namespace) parts.push('in namespace ' + text(event.namespace));
            const owners = ownersText(event.owners);
            let description = parts.join(' ');
            if (kind === 'owner_changed') {
              description += ': ' + (ownersText(event.previous_owners) || 'no owner') + ' → ' + (owners || 'no owner');
            } else if (owners) {
              description += ', ' + owners;
            } else if (event.unowned_reason) {
              description += ', no owner (' + words(event.unowned_reason) + ')';
            }
            const label = node('span', 'badge', EVENT_KINDS[kind] || kind || 'event');
            if (EVENT_KINDS[kind]) label.classList.add('ev-' + kind);
            const item = node('li', 'event', timeNode(event.time), node('span', null, label), node('span', null, description));
            item.setAttribute('data-id', String(Number(event.id)));
            return item;
          }

          function eventNote(message) {
            return node('li', 'event', timeNode(new Date()), node('span', 'note meta', message));
          }

          function showEvents(items) {
            const list = byId('events');
            // The backlog shown at load is not news: the region is silenced while it is inserted.
            if (!state.eventsLoaded) list.setAttribute('aria-live', 'off');
            for (const item of items) list.prepend(item);
            while (list.childElementCount > EVENTS_KEPT) list.lastElementChild.remove();
            if (!state.eventsLoaded) {
              state.eventsLoaded = true;
              setTimeout(() => list.setAttribute('aria-live', 'polite'), 1000);
            }
            const count = list.querySelectorAll('li.event').length;
            byId('events-status').textContent = count === 0
              ? 'No events yet: listeners opened, closed or changing owner appear here, newest first.'
              : 'Showing ' + plural(count, 'event', 'events') + ', newest first (the last ' + EVENTS_KEPT
                + ' are kept); checked every ' + EVENTS_MS / 1000 + ' s.';
          }

          async function pollEvents() {
            const answer = await getDocument('api/v1/events?after=' + encodeURIComponent(String(state.lastEventId)));
            const events = (Array.isArray(answer.events) ? answer.events : [])
              .filter((e) => e && typeof e === 'object' && Number.isFinite(Number(e.id)))
              .sort((a, b) => Number(a.id) - Number(b.id));
            const lastId = Number(answer.last_id);
            if (Number.isFinite(lastId) && lastId < state.lastEventId) {
              // The server restarted and numbers its events from 1 again: start over from its first.
              state.lastEventId = 0;
              showEvents([eventNote('The server restarted; events are numbered afresh.')]);
              return;
            }
            const fresh = events.filter((e) => Number(e.id) > state.lastEventId);
            for (const event of fresh) state.lastEventId = Math.max(state.lastEventId, Number(event.id));
            if (Number.isFinite(lastId)) state.lastEventId = Math.max(state.lastEventId, lastId);
            if (fresh.length || !state.eventsLoaded) showEvents(fresh.map(renderEvent));
          }

          // ---- scheduling ----

          // Each loop waits for its request to finish before the next is scheduled, so a slow server never
          // piles up requests.
          function every(milliseconds, what, load) {
            let timer = null;
            let running = false;
            const run = async () => {
              if (running) return;
              running = true;
              clearTimeout(timer);
              try {
                await load();
                succeeded(what);
              } catch (error) {
                failed(what, error);
              } finally {
                running = false;
                timer = setTimeout(run, milliseconds);
              }
            };
            run();
            return run;
          }

          for (const th of document.querySelectorAll('#listeners thead th')) {
            th.querySelector('button').addEventListener('click', () => {
              const key = th.dataset.key;
              state.descending = state.sortKey === key ? !state.descending : false;
              state.sortKey = key;
              renderListeners();
            });
          }
          byId('filter').addEventListener('input', renderListeners);
          byId('verdict-filter').addEventListener('change', renderListeners);
          renderSortState();

          const refreshers = [
            every(REFRESH_MS, 'listeners', loadListeners),
            every(REFRESH_MS, 'audit', loadAudit),
            every(REFRESH_MS, 'hidden check', loadHidden),
            every(HISTORY_MS, 'history', loadHistory),
          ];
          every(EVENTS_MS, 'events', pollEvents);
          byId('refresh-now').addEventListener('click', () => refreshers.forEach((refresh) => refresh()));
        })();
        </script>
        </body>
        </html>
        """#
}
