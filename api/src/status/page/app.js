// The operators' status page: asks for an admin key, keeps it in sessionStorage for this tab,
// and shows GET /v1/admin/status every 2 s. Every value shown carries data-stat (its path in
// the JSON) and data-raw (the JSON value itself), so a test can read the page exactly.
'use strict';

const STORAGE_KEY = 'muze.status.adminKey';
const POLL_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
let timer = null;
let lastShown = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// A value element: shows `text`, carries its JSON path and raw value.
function stat(path, raw, text, cls) {
  return el('span', { 'data-stat': path, 'data-raw': JSON.stringify(raw === undefined ? null : raw), class: cls },
    text === undefined ? fmt(raw) : text);
}

function fmt(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2);
  return String(v);
}

function ms(v) {
  if (v === null || v === undefined) return '—';
  return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : Math.round(v) + ' ms';
}

function pct(v) { return v === null || v === undefined ? '—' : (v * 100).toFixed(1) + ' %'; }

function pad(n) { return String(n).padStart(2, '0'); }

// Local date and time, unambiguous: 2026-12-02 18:00.
function when(t) {
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

function span(secs) {
  if (secs < 90) return Math.round(secs) + ' s';
  if (secs < 5400) return Math.round(secs / 60) + ' min';
  if (secs < 172800) return Math.round(secs / 3600) + ' h';
  return Math.round(secs / 86400) + ' d';
}

// "in 12 s", "in 3 min", or a local time with how far away it is.
function until(iso) {
  if (!iso) return '—';
  const t = new Date(iso);
  const s = Math.round((t - Date.now()) / 1000);
  if (s <= 0) return 'now';
  if (s < 5400) return 'in ' + span(s);
  return when(t) + ' (in ' + span(s) + ')';
}

function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - new Date(iso)) / 1000);
  if (s < 5400) return span(Math.max(0, s)) + ' ago';
  return when(new Date(iso)) + ' (' + span(s) + ' ago)';
}

function figure(label, node, cls) {
  return el('div', null, el('dt', null, label), el('dd', { class: cls }, node));
}

function chart(history, limit) {
  const svg = document.createElementNS(SVG, 'svg');
  const w = 200, h = 44, n = history.calls.length || 1;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  const peak = Math.max(1, ...history.calls);
  const top = limit ? Math.max(peak, Math.min(limit, peak * 1.25)) : peak;
  const base = document.createElementNS(SVG, 'rect');
  base.setAttribute('class', 'axis');
  base.setAttribute('x', 0); base.setAttribute('width', w);
  base.setAttribute('y', h - 1); base.setAttribute('height', 1);
  svg.append(base);
  const title = document.createElementNS(SVG, 'title');
  title.textContent = `calls by searches per ${history.bucket_secs} s, last ${n} buckets: ${history.calls.join(', ')}`;
  svg.append(title);
  history.calls.forEach((c, i) => {
    const r = document.createElementNS(SVG, 'rect');
    const bh = c === 0 ? 0 : Math.max(1.5, (c / top) * (h - 2));
    r.setAttribute('x', (i * w) / n + 1);
    r.setAttribute('width', w / n - 2);
    r.setAttribute('y', h - bh);
    r.setAttribute('height', bh);
    svg.append(r);
  });
  if (limit && limit <= top) {
    const y = h - (limit / top) * (h - 2);
    const line = document.createElementNS(SVG, 'line');
    line.setAttribute('x1', 0); line.setAttribute('x2', w);
    line.setAttribute('y1', y); line.setAttribute('y2', y);
    svg.append(line);
  }
  return svg;
}

function providerCard(p) {
  const key = 'providers.' + p.provider;
  const limit = p.effective_limit;
  const use = limit > 0 ? Math.min(1, p.calls_in_window / limit) : 0;
  const bad = p.circuit === 'open' || p.recovering_until || (p.quota && p.quota.left === 0);
  const warn = p.cooldown_until || p.circuit === 'half_open' || use >= 0.9;
  const card = el('article', { class: 'card', 'data-provider': p.provider, 'data-state': bad ? 'bad' : warn ? 'warn' : 'ok' });
  card.append(el('h3', null, p.provider,
    el('span', { class: 'muted' }, p.fallback_position === null ? 'not in fallback' : 'fallback #' + (p.fallback_position + 1))));
  card.append(el('div', { class: 'use' },
    stat(key + '.calls_in_window', p.calls_in_window),
    el('small', null, ' / ', stat(key + '.effective_limit', p.effective_limit), ' calls in ', span(p.window_secs),
      ' (limit ', stat(key + '.limit', p.limit), ')')));
  const bar = el('div', { class: 'bar', 'data-high': String(use >= 0.9) }, el('div'));
  bar.firstChild.style.width = (use * 100).toFixed(1) + '%';
  card.append(bar);
  // The limit line only means something when a bucket is one whole window.
  card.append(chart(p.history, p.history.bucket_secs >= p.window_secs ? limit : 0));
  card.append(el('div', { class: 'muted' }, 'calls by searches per ', span(p.history.bucket_secs),
    ', last ', span(p.history.bucket_secs * p.history.calls.length), ': ',
    stat(key + '.history.total', p.history.calls.reduce((a, b) => a + b, 0))));
  const kv = el('dl', { class: 'kv' });
  const row = (label, node) => kv.append(el('dt', null, label), el('dd', null, node));
  row('in flight', stat(key + '.calls_in_flight', p.calls_in_flight));
  row('circuit', stat(key + '.circuit', p.circuit, p.circuit.replace('_', ' '),
    p.circuit === 'open' ? 'state-bad' : p.circuit === 'half_open' ? 'state-warn' : 'state-ok'));
  row('cooldown', stat(key + '.cooldown_until', p.cooldown_until, p.cooldown_until ? 'until ' + until(p.cooldown_until) : 'none',
    p.cooldown_until ? 'state-warn' : undefined));
  if (p.recovering_until) row('recovering', stat(key + '.recovering_until', p.recovering_until, until(p.recovering_until), 'state-bad'));
  row('quota left', p.quota
    ? el('span', null, stat(key + '.quota.left', p.quota.left, undefined, p.quota.left === 0 ? 'state-bad' : undefined),
        ' / ', stat(key + '.quota.limit', p.quota.limit), ' · resets ', until(p.quota.resets_at))
    : stat(key + '.quota', null, 'no quota'));
  row('reserve', el('span', null, stat(key + '.reserved_for_interactive', p.reserved_for_interactive), ' calls kept for searches'));
  card.append(kv);
  return card;
}

function render(r) {
  document.body.dataset.generatedAt = r.generated_at;
  const health = $('health');
  health.dataset.level = r.health.level;
  $('health-level').replaceChildren(stat('health.level', r.health.level));
  $('health-problems').textContent = r.health.problems.length ? r.health.problems.join(' · ') : 'all providers, queues and workers healthy';

  $('providers').replaceChildren(...r.providers.map(providerCard));

  const s = r.searches;
  $('searches-window').textContent = '(last ' + s.window_secs + ' s)';
  $('searches').replaceChildren(
    figure('POST /s', stat('searches.per_second', s.per_second)),
    figure('catalog hit ratio', stat('searches.catalog_hit_ratio', s.catalog_hit_ratio, pct(s.catalog_hit_ratio))),
    figure('from catalog', stat('searches.catalog_answers', s.catalog_answers)),
    figure('upstream', stat('searches.upstream_answers', s.upstream_answers)),
    figure('jobs /s', stat('searches.jobs_per_second', s.jobs_per_second)),
    figure('POST → final p50', stat('searches.p50_ms', s.p50_ms, ms(s.p50_ms))),
    figure('POST → final p99', stat('searches.p99_ms', s.p99_ms, ms(s.p99_ms))),
    figure('jobs finished', stat('searches.jobs_finished', s.jobs_finished)),
    figure('jobs failed', stat('searches.jobs_failed', s.jobs_failed, undefined, s.jobs_failed ? 'state-bad' : undefined)),
  );

  $('queues').tBodies[0].replaceChildren(...r.queues.map((q) => {
    const k = 'queues.' + q.kind;
    return el('tr', { 'data-queue': q.kind }, el('td', null, q.kind),
      el('td', null, stat(k + '.ready', q.ready)),
      el('td', null, stat(k + '.running', q.running)),
      el('td', null, stat(k + '.delayed', q.delayed)),
      el('td', null, stat(k + '.parked', q.parked, undefined, q.parked ? 'state-warn' : undefined)),
      el('td', null, stat(k + '.consumers', q.consumers, undefined, q.kind === 'search' && q.consumers === 0 ? 'state-bad' : undefined)));
  }));

  const c = r.crawls;
  $('schedule').replaceChildren(
    figure('running crawls', stat('crawls.running.count', c.running.length)),
    figure('next tick', stat('crawls.next_tick', c.next_tick, until(c.next_tick)), 'small'),
    figure('last tick', stat('crawls.last_tick', c.last_tick, ago(c.last_tick)), 'small'),
    figure('schedule', el('span', { class: 'muted' }, c.schedule)),
  );
  $('crawls').replaceChildren(...c.running.map((cr) => {
    const k = 'crawls.' + cr.id;
    const bar = el('div', { class: 'bar' }, el('div'));
    const finished = cr.pages_done + cr.pages_failed;
    bar.firstChild.style.width = (cr.pages_total ? (finished / cr.pages_total) * 100 : 0).toFixed(1) + '%';
    return el('div', { class: 'crawl', 'data-crawl': cr.id },
      el('div', null, cr.trigger, ' crawl started ', ago(cr.created_at), ': ',
        stat(k + '.pages_done', cr.pages_done), ' done, ', stat(k + '.pages_failed', cr.pages_failed), ' failed of ',
        stat(k + '.pages_total', cr.pages_total), ' pages'), bar);
  }));
  if (!c.running.length) $('crawls').append(el('p', { class: 'muted' }, 'No crawl running.'));

  $('parked').replaceChildren(
    figure('search', stat('parked.search', r.parked.search, undefined, r.parked.search ? 'state-warn' : undefined)),
    figure('crawl', stat('parked.crawl', r.parked.crawl, undefined, r.parked.crawl ? 'state-warn' : undefined)),
  );
}

function showMessage(text) {
  const m = $('message');
  m.textContent = text;
  m.hidden = !text;
}

function askForKey(reason) {
  sessionStorage.removeItem(STORAGE_KEY);
  clearTimeout(timer);
  $('key-form').hidden = false;
  $('forget').hidden = true;
  $('board').hidden = lastShown === null;
  showMessage(reason);
  $('key').focus();
}

async function poll() {
  const key = sessionStorage.getItem(STORAGE_KEY);
  if (!key) return askForKey('');
  let response;
  try {
    response = await fetch('/v1/admin/status', { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' });
  } catch (e) {
    showMessage('Cannot reach the API (' + e.message + '); the numbers below are from ' + ago(lastShown) + '. Retrying every 2 s.');
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  if (response.status === 401) return askForKey('This key is not accepted (401 unauthorized). Enter an admin key (one of MUZE__API__ADMIN_KEYS).');
  if (response.status === 403) return askForKey('This key is a client key, not an admin key (403 forbidden). Enter a key from MUZE__API__ADMIN_KEYS.');
  if (!response.ok) {
    let detail = '';
    try { const body = await response.json(); detail = body.error.code + ': ' + body.error.message; } catch (_) { detail = response.statusText; }
    showMessage('The API answered ' + response.status + ' (' + detail + '). Retrying every 2 s.');
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  const report = await response.json();
  render(report);
  lastShown = report.generated_at;
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  showMessage('');
  $('key-form').hidden = true;
  $('forget').hidden = false;
  $('board').hidden = false;
  $('updated').textContent = 'updated ' + new Date(report.generated_at).toLocaleTimeString('en-GB');
  timer = setTimeout(poll, POLL_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('key').value.trim();
    if (!key) return;
    sessionStorage.setItem(STORAGE_KEY, key);
    $('key').value = '';
    clearTimeout(timer);
    poll();
  });
  $('forget').addEventListener('click', () => {
    lastShown = null;
    $('board').hidden = true;
    askForKey('Key forgotten.');
  });
  poll();
});
