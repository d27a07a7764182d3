// Warren's observer: renders the tables of GET ui/events (server-sent
// events: a "reset" with everything, then "update"s with what changed).
// Plain JavaScript, no library; every text goes through textContent.
'use strict';

const state = {
  status: null, tree: null, confirms: null, calls: null, updated: '',
  tables: { connections: new Map(), channels: new Map(), listeners: new Map(), publishers: new Map(), workers: new Map(), nodes: new Map() },
  timeline: [], // newest first
};
const TIMELINE_KEEP = 500;
let tab = 'overview';
let selected = null; // {table, key} or {table: 'tree', key: path}
let treeDirty = true;
const treeOpen = new Set(); // paths of nodes opened by hand
const treeClosed = new Set(); // paths of nodes closed by hand

// h builds an element: h('td', {class: 'x', 'data-field': 'state'}, child, 'text', …).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const clock = (t) => {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return t;
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
};
const num = (n) => (n === undefined || n === null ? '' : Number(n).toLocaleString('en'));
const rate = (r) => (r ? (r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en')) + '/s' : '–');
const ms = (v) => (v ? (v < 1 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)) + ' ms' : '–');
const counter = (key, label) => ({ key, label: label || key, num: true, fmt: num });
const badge = (s) => h('span', { class: 'st st-' + String(s || 'none').replace(/[^a-z_]/gi, '') }, s || '–');
const last = (p) => String(p || '').split('/').pop();

// Table: filter box, sortable columns, paging; rows from a Map or array.
class Table {
  constructor(el, name, columns, opts = {}) {
    this.el = el; this.name = name; this.columns = columns; this.opts = opts;
    this.sort = opts.sort || null; this.page = 0; this.filter = '';
    this.pageSize = opts.pageSize || 50;
    if (opts.filter !== false) {
      this.input = h('input', { type: 'search', placeholder: 'filter…', class: 'filter', 'data-filter': name,
        oninput: () => { this.filter = this.input.value.toLowerCase(); this.page = 0; render(); } });
    }
    this.info = h('span', { class: 'muted' });
    this.prev = h('button', { type: 'button', class: 'pager', 'data-page': 'prev', onclick: () => { this.page--; render(); } }, '‹');
    this.next = h('button', { type: 'button', class: 'pager', 'data-page': 'next', onclick: () => { this.page++; render(); } }, '›');
    this.thead = h('tr', {}, columns.map((c) => h('th', {
      class: (c.num ? 'num sortable' : 'sortable') + (c.hidden ? ' hidden' : ''), 'data-sort': c.key,
      onclick: () => { this.sort = { key: c.key, desc: this.sort && this.sort.key === c.key ? !this.sort.desc : !!c.num }; this.page = 0; render(); },
    }, c.label)));
    this.tbody = h('tbody');
    el.append(h('div', { class: 'toolbar' }, this.input, this.info, this.prev, this.next),
      h('div', { class: 'scroll' }, h('table', { class: 'grid', 'data-table': name }, h('thead', {}, this.thead), this.tbody)));
  }
  value(row, c) { return c.get ? c.get(row) : row[c.key]; }
  text(row) { return this.columns.map((c) => this.value(row, c)).join(' ').toLowerCase(); }
  update(source) {
    let rows = Array.from(source.values ? source.values() : source);
    if (this.filter) rows = rows.filter((r) => this.text(r).includes(this.filter));
    if (this.sort) {
      const c = this.columns.find((x) => x.key === this.sort.key);
      const dir = this.sort.desc ? -1 : 1;
      rows.sort((a, b) => {
        const x = this.value(a, c), y = this.value(b, c);
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return String(x ?? '').localeCompare(String(y ?? ''), 'en', { numeric: true }) * dir;
      });
    }
    const pages = Math.max(1, Math.ceil(rows.length / this.pageSize));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    const from = this.page * this.pageSize;
    const shown = rows.slice(from, from + this.pageSize);
    this.info.textContent = rows.length ? `${from + 1}–${from + shown.length} of ${num(rows.length)}` : 'none';
    this.prev.disabled = this.page === 0; this.next.disabled = this.page >= pages - 1;
    for (const th of this.thead.children) {
      const on = !!this.sort && th.dataset.sort === this.sort.key;
      th.classList.toggle('asc', on && !this.sort.desc);
      th.classList.toggle('desc', on && !!this.sort.desc);
    }
    const trs = [];
    let group;
    for (const row of shown) {
      if (this.opts.group && this.sort && this.opts.sort && this.sort.key === this.opts.sort.key) {
        const g = this.opts.group(row);
        if (g !== group) { group = g; trs.push(h('tr', { class: 'group' }, h('td', { colspan: this.columns.filter((c) => !c.hidden).length }, g))); }
      }
      const isSel = selected && selected.table === this.name && selected.key === row.key;
      trs.push(h('tr', { 'data-table': this.name, 'data-key': row.key, class: isSel ? 'selected' : null,
        onclick: () => select(this.name, row.key) },
      this.columns.map((c) => {
        const v = this.value(row, c);
        if (c.hidden) return h('td', { class: 'hidden' });
        const long = typeof v === 'string' && v.length > 40 ? v : null; // cut by the cell's width: whole on hover
        return h('td', { 'data-field': c.key, class: c.num ? 'num' : null, title: long }, c.fmt ? c.fmt(v, row) : v);
      })));
    }
    this.tbody.replaceChildren(...trs);
  }
}

const connColumns = [
  { key: 'id', label: 'connection' },
  { key: 'role', label: 'role' },
  // A drained broker (Tree.DrainBroker) shows "connected draining": its
  // floats moved off it, it takes none while another broker of its zone is up.
  { key: 'state', label: 'state', get: (r) => (r.draining ? `${r.state} (draining)` : r.state),
    fmt: (v, row) => (row.draining ? h('span', {}, badge(row.state), ' ', badge('draining')) : badge(v)) },
  { key: 'attempts', label: 'attempts', num: true },
  { key: 'connects', label: 'connects', num: true },
  { key: 'channels', label: 'channels', num: true },
  { key: 'channel_max', label: 'channel_max', num: true },
  { key: 'frame_max', label: 'frame_max', num: true },
  { key: 'heartbeat', label: 'heartbeat' },
  { key: 'since', label: 'since', fmt: clock },
  { key: 'last_error', label: 'last error', fmt: (v) => h('span', { class: 'err' }, v) },
];
const zoneOf = (c) => {
  const z = (state.status && state.status.zones || []).find((x) => x.name === c.zone);
  const drain = z && z.draining && z.draining.length ? `, draining ${z.draining.join(', ')}` : '';
  const up = z ? `${z.available}/${z.brokers} brokers up, primary ${z.primary || 'none'}${drain}` : '';
  return `zone ${c.zone}${c.local ? ' (local)' : ''} · ${up}`;
};
const byZone = (c) => (c.local ? '0' : '1') + c.zone + '\u0000' + c.id;
const tables = {};
const timelineColumns = [
  { key: 'time', label: 'time', fmt: clock },
  { key: 'kind', label: 'kind' },
  { key: 'id', label: 'what' },
  { key: 'from', label: 'from', fmt: (v) => (v ? badge(v) : '') },
  { key: 'to', label: 'to', fmt: badge },
  { key: 'detail', label: 'detail', fmt: (v) => h('span', { class: 'err' }, v) },
];

function setup() {
  const $ = (id) => document.getElementById(id);
  const zoneOrder = { key: 'zone_order', label: '', get: byZone, hidden: true };
  tables.overviewConnections = new Table($('overview-connections'), 'connections',
    connColumns.filter((c) => !['frame_max', 'channel_max', 'connects'].includes(c.key)).concat([zoneOrder]),
    { filter: false, group: zoneOf, sort: { key: 'zone_order' } });
  tables.connections = new Table($('connections'), 'connections', connColumns.concat([
    { key: 'uri', label: 'uri' }, { key: 'version', label: 'version' }, zoneOrder]),
  { group: zoneOf, sort: { key: 'zone_order' } });
  tables.channels = new Table($('channels'), 'channels', [
    { key: 'consumer', label: 'owner', fmt: (v) => v || '(prechannel)' },
    { key: 'app', label: 'app' },
    { key: 'id', label: 'channel' },
    { key: 'type', label: 'type' },
    { key: 'broker', label: 'broker' },
    { key: 'zone', label: 'zone' },
    { key: 'state', label: 'state', fmt: badge },
    { key: 'reconnect', label: 'reconnect', fmt: (v) => (v ? 'yes' : '') },
    { key: 'watchers', label: 'watchers', num: true },
    { key: 'assigned_at', label: 'assigned', fmt: clock },
  ], { sort: { key: 'consumer' } });
  tables.listeners = new Table($('listeners'), 'listeners', [
    { key: 'name', label: 'listener' },
    { key: 'queue', label: 'queue' },
    { key: 'bindings', label: 'bindings', get: (r) => (r.bindings || []).join(' '),
      fmt: (v, r) => ((r.bindings || []).length > 2 ? r.bindings.slice(0, 2).join(' ') + ` +${r.bindings.length - 2}` : v) },
    { key: 'broker', label: 'broker' },
    { key: 'zone', label: 'zone' },
    { key: 'state', label: 'state', fmt: badge },
    { key: 'rate', label: 'rate', num: true, fmt: rate },
    counter('received'),
    counter('acked'),
    counter('nacked'),
    counter('rejected'),
    counter('errors'),
    counter('dead_lettered', 'dead-lettered'),
    counter('requeued'),
    counter('duplicates'),
    { key: 'in_flight', label: 'in flight', num: true },
  ], { sort: { key: 'name' } });
  tables.publishers = new Table($('publishers'), 'publishers', [
    { key: 'id', label: 'publisher', fmt: last },
    { key: 'zone', label: 'zone' },
    { key: 'channel', label: 'channel' },
    { key: 'state', label: 'state', fmt: badge },
    { key: 'rate', label: 'rate', num: true, fmt: rate },
    counter('published'),
    counter('confirmed'),
    { key: 'in_flight', label: 'in flight', num: true },
    { key: 'confirm_mean_ms', label: 'confirm mean', num: true, fmt: ms },
    counter('nacked'),
    counter('returned'),
    counter('unconfirmed'),
    counter('resent'),
    counter('buffered', 'waiting'),
    counter('dropped'),
  ], { sort: { key: 'id' } });
  tables.workers = new Table($('workers'), 'workers', [
    { key: 'name', label: 'worker' },
    { key: 'broker', label: 'broker' },
    { key: 'queue', label: 'reply queue' },
    { key: 'state', label: 'state', fmt: badge },
    { key: 'busy', label: 'in flight', num: true },
    { key: 'rate', label: 'rate', num: true, fmt: rate },
    counter('calls'),
    { key: 'mean_ms', label: 'mean', num: true, fmt: ms },
    counter('replies'),
    counter('timeouts'),
    counter('late'),
    counter('errors'),
  ], { sort: { key: 'name' } });
  tables.nodes = new Table($('nodes'), 'nodes', [
    { key: 'name', label: 'node', fmt: (v, r) => (r.self ? v + ' (this node)' : v) },
    { key: 'zone', label: 'zone' },
    { key: 'kind', label: 'kind' },
    { key: 'version', label: 'version' },
    { key: 'last_heard', label: 'heard', fmt: clock },
    { key: 'expires', label: 'expires', fmt: clock },
    { key: 'used_memory', label: 'memory', num: true, fmt: (v) => num(Math.round((v || 0) / 1048576)) + ' MiB' },
    { key: 'processes', label: 'processes', num: true, fmt: num },
    { key: 'apps', label: 'apps', get: (r) => (r.apps || []).join(' '),
      fmt: (v, r) => ((r.apps || []).length > 4 ? r.apps.slice(0, 4).join(' ') + ` +${r.apps.length - 4}` : v) },
  ], { sort: { key: 'name' } });
  tables.timeline = new Table($('timeline'), 'timeline', timelineColumns, { pageSize: 100 });
  tables.overviewTimeline = new Table($('overview-timeline'), 'timeline', timelineColumns, { filter: false, pageSize: 10 });

  for (const b of document.querySelectorAll('#tabs button')) {
    b.addEventListener('click', () => showTab(b.dataset.tab));
  }
  $('detail-close').addEventListener('click', () => { selected = null; render(); });
  const wanted = location.hash.slice(1);
  if (document.getElementById('tab-' + wanted)) showTab(wanted);
  connect();
}

function showTab(name) {
  tab = name;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === name);
  for (const s of document.querySelectorAll('.tab')) s.classList.toggle('active', s.id === 'tab-' + name);
  history.replaceState(null, '', '#' + name);
  treeDirty = true;
  render();
}

function select(table, key) {
  selected = selected && selected.table === table && selected.key === key ? null : { table, key };
  render();
}

// connect opens the stream; EventSource retries by itself after a network
// error, but gives up on an HTTP error, so that case is retried here.
function connect() {
  const live = document.getElementById('live');
  const set = (s, text) => { live.dataset.state = s; live.textContent = text; };
  const es = new EventSource('ui/events');
  // Live once the snapshot arrived, not when the stream opened: until
  // then the tables are empty because nothing came yet, not because the
  // tree has no rows.
  es.addEventListener('open', () => set('connecting', 'loading'));
  es.addEventListener('reset', (e) => { apply(JSON.parse(e.data), true); set('live', 'live'); });
  es.addEventListener('update', (e) => apply(JSON.parse(e.data), false));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      set('reconnecting', 'reconnecting');
      setTimeout(connect, 2000);
    } else {
      set('reconnecting', 'reconnecting');
    }
  });
}

function apply(up, reset) {
  if (reset) {
    for (const m of Object.values(state.tables)) m.clear();
    state.timeline = [];
  }
  for (const k of ['status', 'tree', 'confirms', 'calls']) {
    if (up[k] !== undefined) state[k] = up[k];
  }
  if (up.tree !== undefined) treeDirty = true;
  for (const [name, d] of Object.entries(up.tables || {})) {
    const m = state.tables[name];
    for (const key of d.del || []) m.delete(key);
    for (const row of d.set || []) m.set(row.key, row);
  }
  for (const e of up.timeline || []) { e.key = String(e.seq); state.timeline.unshift(e); }
  state.timeline.length = Math.min(state.timeline.length, TIMELINE_KEEP);
  state.updated = up.time;
  render();
}

let pending = false;
function render() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; draw(); });
}

function draw() {
  const s = state.status;
  const node = document.getElementById('node');
  if (s) {
    node.replaceChildren(h('span', { class: 'st ' + (s.ready ? 'st-ready' : 'st-not_ready'), id: 'ready' }, s.ready ? 'ready' : 'not ready'),
      ' zone ', h('b', {}, s.local_zone), s.reason ? h('span', { class: 'err' }, ' · ' + s.reason) : '');
  }
  document.getElementById('updated').textContent = state.updated ? 'as of ' + clock(state.updated) : '';
  for (const [name, m] of Object.entries(state.tables)) document.getElementById('count-' + name).textContent = m.size ? num(m.size) : '';
  document.getElementById('count-timeline').textContent = state.timeline.length || '';
  switch (tab) {
    case 'overview':
      drawCards();
      tables.overviewConnections.update(state.tables.connections);
      tables.overviewTimeline.update(state.timeline.filter((e) => e.kind === 'connection'));
      break;
    case 'tree': if (treeDirty) drawTree(); break;
    case 'publishers': drawLatency('confirms', 'confirms', state.confirms); tables.publishers.update(state.tables.publishers); break;
    case 'workers': drawLatency('calls', 'calls', state.calls); tables.workers.update(state.tables.workers); break;
    case 'timeline': tables.timeline.update(state.timeline); break;
    default: tables[tab].update(state.tables[tab]);
  }
  drawDetail();
}

function card(title, value, sub, cls) {
  return h('div', { class: 'card ' + (cls || '') }, h('div', { class: 'card-title' }, title), h('div', { class: 'card-value' }, value), h('div', { class: 'card-sub' }, sub));
}

function drawCards() {
  const s = state.status;
  if (!s) return;
  const cards = [card('node', s.ready ? 'ready' : 'not ready', s.reason || 'zone ' + s.local_zone, s.ready ? 'good' : 'bad')];
  for (const z of s.zones || []) {
    cards.push(card('zone ' + z.name + (z.local ? ' (local)' : ''), `${z.available}/${z.brokers}`, 'brokers up · primary ' + (z.primary || 'none'), z.available ? 'good' : 'bad'));
  }
  const c = (x) => `${x.ready}/${x.total}` + (x.failed ? ` (${x.failed} failed)` : '');
  const ok = (x) => (x.total === x.ready ? 'good' : 'warn');
  cards.push(card('listeners', c(s.listeners), 'consuming', ok(s.listeners)));
  const cf = state.confirms || {};
  cards.push(card('publishers', c(s.publishers), `${num(cf.in_flight || 0)} confirms in flight · p99 ${ms(cf.p99_ms)}`, ok(s.publishers)));
  const cl = state.calls || {};
  cards.push(card('workers', c(s.workers), `${num(cl.in_flight || 0)} calls in flight · p99 ${ms(cl.p99_ms)}`, ok(s.workers)));
  document.getElementById('cards').replaceChildren(...cards);
}

function drawLatency(id, what, l) {
  l = l || {};
  const outcomes = Object.entries(l.outcomes || {}).map(([k, v]) => `${k} ${num(v)}`).join(' · ') || 'none yet';
  document.getElementById(id).replaceChildren(
    card(what + ' in flight', num(l.in_flight || 0), 'waiting now'),
    card(what + ' done', num(l.count || 0), outcomes),
    card('latency p50', ms(l.p50_ms), 'since start'),
    card('latency p99', ms(l.p99_ms), 'mean ' + ms(l.mean_ms) + ' · max ' + ms(l.max_ms)));
}

// The tree: nested <details>; a node with many children starts closed.
function drawTree() {
  treeDirty = false;
  const root = state.tree;
  const el = document.getElementById('tree');
  if (!root) { el.replaceChildren('waiting for the tree…'); return; }
  const node = (n) => {
    const kids = n.children || [];
    const line = h('span', { class: 'node-line', 'data-path': n.path, onclick: (e) => { e.preventDefault(); select('tree', n.path); } },
      h('b', {}, n.name), ' ', h('span', { class: 'kind' }, n.kind), ' ', badge(n.status),
      h('span', { class: n.restarts ? 'restarts' : 'muted', title: 'restarts', 'data-field': 'restarts' }, ` ↻${n.restarts || 0}`),
      n.strategy ? h('span', { class: 'muted' }, ' ' + n.strategy) : '',
      kids.length ? h('span', { class: 'muted' }, ` · ${kids.length} ${kids.length === 1 ? 'child' : 'children'}`) : '',
      n.detail ? h('span', { class: 'detail-line' }, ' ' + n.detail) : '');
    if (!kids.length) return h('li', { class: 'leaf' }, line);
    const open = treeOpen.has(n.path) || (!treeClosed.has(n.path) && kids.length <= 20);
    const d = h('details', { open }, h('summary', {}, line), h('ul', {}, kids.map(node)));
    d.addEventListener('toggle', () => {
      if (d.open) { treeOpen.add(n.path); treeClosed.delete(n.path); } else { treeClosed.add(n.path); treeOpen.delete(n.path); }
    });
    return h('li', {}, d);
  };
  el.replaceChildren(h('ul', { class: 'tree-root' }, node(root)));
}

function findNode(n, path) {
  if (!n) return null;
  if (n.path === path) return n;
  for (const c of n.children || []) { const f = findNode(c, path); if (f) return f; }
  return null;
}

// The detail pane shows every field of the selected row, live.
function drawDetail() {
  const pane = document.getElementById('detail');
  let row = null;
  if (selected) {
    if (selected.table === 'tree') {
      const n = findNode(state.tree, selected.key);
      if (n) { row = Object.assign({}, n); row.children = (n.children || []).map((c) => c.name); }
    } else if (selected.table === 'timeline') {
      row = state.timeline.find((e) => e.key === selected.key);
    } else {
      row = state.tables[selected.table] && state.tables[selected.table].get(selected.key);
    }
  }
  pane.hidden = !row;
  if (!row) return;
  pane.dataset.table = selected.table; pane.dataset.key = selected.key;
  document.getElementById('detail-title').textContent = selected.key;
  const rows = [];
  for (const [k, v] of Object.entries(row)) {
    if (k === 'key') continue;
    let val;
    if (Array.isArray(v)) val = v.length ? h('ul', {}, v.map((x) => h('li', {}, typeof x === 'object' ? JSON.stringify(x) : x))) : '–';
    else if (v && typeof v === 'object') val = JSON.stringify(v);
    else if (k === 'state' || k === 'status') val = badge(v);
    else val = v === '' ? '–' : String(v);
    rows.push(h('dt', {}, k), h('dd', { 'data-field': k }, val));
  }
  const extra = [];
  if (selected.table === 'connections') {
    const chans = Array.from(state.tables.channels.values()).filter((c) => c.broker === selected.key);
    extra.push(h('h3', {}, `channels on this connection (${chans.length})`),
      h('ul', { class: 'plain' }, chans.map((c) => h('li', {}, `${c.id || '(waiting)'} · ${c.state} · ${c.consumer || 'prechannel'}`))));
  }
  if (selected.table === 'listeners' || selected.table === 'publishers' || selected.table === 'workers') {
    const owner = row.path || row.id;
    const ch = state.tables.channels.get(owner);
    if (ch) extra.push(h('h3', {}, 'channel'), h('p', {}, `${ch.id || '(waiting)'} on ${ch.broker || '–'} · ${ch.type} · ${ch.state}`));
  }
  document.getElementById('detail-body').replaceChildren(h('dl', {}, rows), ...extra);
}

document.addEventListener('DOMContentLoaded', setup);
