// The ledger's dashboard: plain JS, no build step. It reads the public API
// with the token kept in sessionStorage, and follows /v1/subscribe to
// update the figures in place.
'use strict';

const T = (...a) => I18N.t(...a);
const $ = id => document.getElementById(id);

const TOKEN_KEY = 'ledger.token';
const LANG_KEY = 'ledger.lang';
// LIVE_DEBOUNCE_MS merges a burst of changes into one re-query.
const LIVE_DEBOUNCE_MS = 250;
// LIVE_RETRY_MS is how long to wait before reopening a closed stream.
const LIVE_RETRY_MS = 3000;
const PORTFOLIO_FIELDS = [
  ['issued_count', 'count'], ['issued_amount', 'money'], ['outstanding_principal', 'money'],
  ['repaid_principal', 'money'], ['defaulted_count', 'count'], ['compensated_amount', 'money'],
  ['recovered_amount', 'money'], ['written_off_amount', 'money'], ['repayment_rate', 'percent'],
  ['recovery_rate', 'percent'], ['jobs_created', 'count'],
];
// Portfolio figures that are flows of events, and so can be drilled into.
const DRILLABLE = new Set(['issued_count', 'issued_amount', 'outstanding_principal', 'repaid_principal',
  'defaulted_count', 'compensated_amount', 'recovered_amount', 'written_off_amount', 'jobs_created']);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  role: '', name: '',
  page: 'progress',
  regions: [], years: [],
  region: '', year: 0, issuer: '', pfYear: '',
  rankIndicator: '',
  progress: null, portfolio: null, chart: null, funds: [],
  history: null,
  live: null, liveURL: '', liveTimer: 0, retryTimer: 0,
};

// ---------- API ----------

class ApiError extends Error {
  constructor(status, detail) { super(detail || String(status)); this.status = status; }
}

async function api(path, accept = 'application/json') {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + state.token, Accept: accept } });
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail || detail; } catch (_) { /* not problem+json */ }
    throw new ApiError(r.status, detail);
  }
  return accept === 'application/json' ? r.json() : r.blob();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined && v !== 0) q.set(k, v);
  return q.toString();
}

// download fetches with the token (a plain link could not send it) and saves the file.
async function download(path, accept, filename) {
  const blob = await api(path, accept);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function showError(err) {
  const box = $('error');
  if (!err) { box.hidden = true; return; }
  box.textContent = err.status === 403 ? T('error.forbidden') : T('error.generic', err.message);
  box.hidden = false;
}

// ---------- DOM helpers ----------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function table(target, head, rows) {
  target.replaceChildren(
    el('thead', {}, el('tr', {}, head.map(h => el('th', { text: h })))),
    el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { class: 'muted', colSpan: head.length, text: T('empty') }))]));
}

// percentBar draws actual against target: the fill is the percent (capped
// at the bar's end, with a mark past it), the line at the end is the target.
function percentBar(percent, onTrack) {
  const p = percent === null || percent === undefined ? null : Number(percent);
  const bar = el('div', { class: 'pbar' + (onTrack === false ? ' behind' : '') });
  const fill = el('div', { class: 'fill' });
  fill.style.width = (p === null ? 0 : Math.min(p, 100)) + '%';
  bar.append(fill);
  if (p !== null && p > 100) bar.append(el('span', { class: 'over', text: '▶' }));
  return bar;
}

function trackMark(onTrack) {
  if (onTrack === null || onTrack === undefined) return el('span', { class: 'mark none', text: T('track.none') });
  return onTrack ? el('span', { class: 'mark on', text: '✔ ' + T('track.on') })
    : el('span', { class: 'mark off', text: '✘ ' + T('track.off') });
}

// ---------- regions ----------

function regionName(code) {
  const r = state.regions.find(x => x.code === code);
  return r ? r.name : code;
}

function regionDepth(r) {
  let depth = 0;
  for (let p = r.parent_code; p && depth < 6; depth++) p = (state.regions.find(x => x.code === p) || {}).parent_code;
  return depth;
}

// regionOrder lists the tree depth-first, so the picker reads as an outline.
function regionOrder() {
  const out = [];
  const walk = parent => state.regions.filter(r => (r.parent_code || '') === parent).forEach(r => { out.push(r); walk(r.code); });
  walk('');
  return out;
}

function fillRegionPicker(select, value) {
  select.replaceChildren(...regionOrder().map(r =>
    el('option', { value: r.code, text: '\u3000'.repeat(regionDepth(r)) + r.name, selected: r.code === value })));
}

function fillYearPicker(select, value, withAll) {
  const opts = state.years.map(y => el('option', { value: String(y), text: I18N.lang === 'zh' ? y + '年' : String(y), selected: String(y) === String(value) }));
  if (withAll) opts.unshift(el('option', { value: '', text: T('pf.allyears'), selected: value === '' }));
  select.replaceChildren(...opts);
}

function parents(code) {
  const chain = [];
  let r = state.regions.find(x => x.code === code);
  while (r && r.parent_code) {
    r = state.regions.find(x => x.code === r.parent_code);
    if (r) chain.unshift(r);
  }
  return chain;
}

// ---------- progress ----------

async function loadProgress() {
  const q = query({ region: state.region, year: state.year, issuer: state.issuer });
  state.progress = await api('/v1/progress?' + q);
  renderProgress();
}

function renderProgress() {
  const p = state.progress;
  if (!p) return;
  $('progress-asof').textContent = T('asof', I18N.date(p.as_of));
  const crumbs = $('crumbs');
  crumbs.replaceChildren(...parents(p.region).map(r =>
    el('a', { href: '#', text: r.name, onclick: ev => { ev.preventDefault(); selectRegion(r.code); } })),
  el('strong', { text: p.name || regionName(p.region) }));
  const cards = p.indicators.map(e => indicatorCard(p.region, e));
  $('indicators').replaceChildren(...(cards.length ? cards : [el('p', { class: 'muted', text: T('empty') })]));
  renderRanking();
}

function indicatorCard(region, e) {
  const issuer = e.issuer ? T('issuer.' + e.issuer) : T('issuer.none');
  return el('article', { class: 'card indicator', 'data-indicator': e.indicator, 'data-issuer': e.issuer || '' },
    el('header', {}, el('h3', { text: T('ind.' + e.indicator) }), el('span', { class: 'badge', text: issuer })),
    el('button', {
      type: 'button', class: 'figure link', 'data-actual': e.actual, text: I18N.figure(e.indicator, e.actual),
      title: T('drill.title', T('ind.' + e.indicator)),
      onclick: () => drill('progress', e.indicator, region, T('ind.' + e.indicator)),
    }),
    percentBar(e.percent, e.on_track),
    el('dl', { class: 'facts' },
      el('dt', { text: T('fig.target') }),
      el('dd', { 'data-target': e.target ?? '', text: e.target === null ? '—' : T('dir.' + e.direction) + ' ' + I18N.figure(e.indicator, e.target) }),
      el('dt', { text: T('fig.percent') }),
      el('dd', { 'data-percent': e.percent ?? '', text: I18N.percent(e.percent) })),
    trackMark(e.on_track));
}

function renderRanking() {
  const p = state.progress;
  const keys = [];
  for (const c of p.children) for (const e of c.indicators) {
    const key = e.indicator + '/' + (e.issuer || '');
    if (!keys.includes(key)) keys.push(key);
  }
  if (!keys.includes(state.rankIndicator)) state.rankIndicator = keys[0] || '';
  $('rank-indicator').replaceChildren(...keys.map(k => {
    const [ind, iss] = k.split('/');
    return el('option', { value: k, text: T('ind.' + ind) + ' · ' + (iss ? T('issuer.' + iss) : T('issuer.none')), selected: k === state.rankIndicator });
  }));
  const [ind, iss] = state.rankIndicator.split('/');
  const rows = [];
  for (const c of p.children) {
    const e = c.indicators.find(x => x.indicator === ind && (x.issuer || '') === iss);
    if (e) rows.push({ c, e });
  }
  rows.sort((a, b) => (a.e.rank || 999) - (b.e.rank || 999));
  table($('ranking'), [T('rank.rank'), T('rank.region'), T('fig.target'), T('fig.actual'), T('fig.percent'), '', T('rank.status')],
    rows.map(({ c, e }) => el('tr', { 'data-region': c.region },
      el('td', { class: 'num', text: e.rank ? String(e.rank) : '—' }),
      el('td', {}, el('a', { href: '#', text: c.name, onclick: ev => { ev.preventDefault(); selectRegion(c.region); } })),
      el('td', { class: 'num', text: I18N.figure(ind, e.target) }),
      el('td', { class: 'num' }, el('button', {
        type: 'button', class: 'link', 'data-actual': e.actual, text: I18N.figure(ind, e.actual),
        onclick: () => drill('progress', ind, c.region, c.name + ' · ' + T('ind.' + ind)),
      })),
      el('td', { class: 'num', text: I18N.percent(e.percent) }),
      el('td', { class: 'barcell' }, percentBar(e.percent, e.on_track)),
      el('td', {}, trackMark(e.on_track)))));
  $('rank-xlsx').disabled = p.children.length === 0;
}

function selectRegion(code) {
  state.region = code;
  $('region').value = code;
  $('pf-region').value = code;
  reconnectLive();
  refreshPage().catch(showError);
}

// ---------- drill-down ----------

async function drill(view, figure, region, label) {
  const year = view === 'progress' ? state.year : state.pfYear;
  const d = await api('/v1/progress/drilldown?' + query({ view, figure, region, year })).catch(err => { showError(err); return null; });
  if (!d) return;
  const isMoney = view === 'portfolio' ? /amount|principal/.test(figure) : MONEY_INDICATORS.has(figure);
  $('drill-title').textContent = T('drill.title', label);
  const total = isMoney ? I18N.money(d.value) : I18N.count(d.value);
  $('drill-summary').textContent = T('drill.summary', I18N.count(String(d.events.length)), total) + (d.truncated ? T('drill.truncated') : '');
  table($('drill-table'), [T('col.position'), T('col.date'), T('col.type'), T('col.value')],
    d.events.map(e => el('tr', {},
      el('td', { class: 'num', text: String(e.position) }), el('td', { text: I18N.date(e.date) }),
      el('td', { text: typeName(e.type), title: e.type }), el('td', { class: 'num', text: isMoney ? I18N.money(e.amount) : e.amount }))));
  $('drill').showModal();
}

// ---------- portfolio ----------

async function loadPortfolio() {
  const base = { region: state.region, year: state.pfYear };
  state.portfolio = await api('/v1/portfolio?' + query(base));
  renderPortfolio();
  await renderPortfolioChart();
}

function renderPortfolio() {
  const p = state.portfolio;
  $('portfolio-asof').textContent = T('asof', I18N.date(p.as_of));
  $('portfolio-kpis').replaceChildren(...PORTFOLIO_FIELDS.map(([field, kind]) => {
    const v = p[field];
    const text = kind === 'money' ? I18N.money(v, true) : kind === 'percent' ? I18N.percent(v) : I18N.count(String(v));
    const value = DRILLABLE.has(field)
      ? el('button', { type: 'button', class: 'figure link', text, onclick: () => drill('portfolio', field, p.region, T('pf.' + field)) })
      : el('span', { class: 'figure', text });
    return el('article', { class: 'card kpi', 'data-field': field, 'data-value': v ?? '' }, el('h3', { text: T('pf.' + field) }), value);
  }));
}

// monthEnds lists the month ends of a year up to the last day with data.
function monthEnds(year, last) {
  const out = [];
  for (let m = 1; m <= 12; m++) {
    const end = new Date(Date.UTC(year, m, 0)).toISOString().slice(0, 10);
    const start = `${year}-${String(m).padStart(2, '0')}-01`;
    if (start > last) break;
    out.push({ m, end: end < last ? end : last });
  }
  return out;
}

async function renderPortfolioChart() {
  const p = state.portfolio;
  const year = Number(state.pfYear) || Number((p.as_of || '').slice(0, 4)) || state.years.at(-1);
  const months = monthEnds(year, p.as_of || `${year}-12-31`);
  const points = await Promise.all(months.map(({ m, end }) =>
    api('/v1/portfolio?' + query({ region: p.region, year, as_of: end })).then(r => ({ m, end, r }))));
  let before = 0;
  const series = points.map(({ m, r }) => {
    // Issued amounts are cumulative within the year; the month's is the step.
    const cumulative = Number(r.issued_amount);
    const issued = cumulative - before;
    before = cumulative;
    return { m, issued, outstanding: Number(r.outstanding_principal) };
  });
  state.chart = { year, series };
  drawChart($('portfolio-chart'), year, series);
}

// drawChart: bars of the month's issued amount and a line of the outstanding
// principal at month end, on one axis in yuan. Numbers here are for drawing
// only; the figures shown as text come from the API's decimal strings.
function drawChart(target, year, series) {
  // Drawn at the width of its card, so that text keeps its size on any screen.
  const W = Math.max(600, target.clientWidth || 960), H = 300, L = 90, R = 20, TOP = 20, B = 40;
  const step = niceStep(Math.max(1, ...series.map(s => Math.max(s.issued, s.outstanding))) / 4);
  const max = step * 4;
  const x = i => L + (i + 0.5) * (W - L - R) / 12;
  const y = v => TOP + (H - TOP - B) * (1 - v / max);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': T('chart.title') });
  for (let k = 0; k <= 4; k++) {
    const v = max * k / 4;
    g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    const label = svg('text', { x: L - 8, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' });
    label.textContent = axisMoney(v);
    g.append(label);
  }
  const bw = (W - L - R) / 12 * 0.6;
  series.forEach((s, i) => {
    const bar = svg('rect', { x: x(i) - bw / 2, y: y(Math.max(s.issued, 0)), width: bw, height: Math.max(0, H - B - y(Math.max(s.issued, 0))), class: 'bar-issued' });
    const tip = svg('title');
    tip.textContent = I18N.month(year, s.m) + ' ' + T('chart.issued') + ' ' + I18N.money(s.issued.toFixed(2));
    bar.append(tip);
    g.append(bar);
  });
  for (let m = 1; m <= 12; m++) {
    const label = svg('text', { x: x(m - 1), y: H - B + 18, class: 'axis', 'text-anchor': 'middle' });
    label.textContent = I18N.month(year, m);
    g.append(label);
  }
  if (series.length) {
    g.append(svg('polyline', { points: series.map((s, i) => `${x(i)},${y(s.outstanding)}`).join(' '), class: 'line-outstanding' }));
    series.forEach((s, i) => g.append(svg('circle', { cx: x(i), cy: y(s.outstanding), r: 4, class: 'dot-outstanding' })));
  }
  const legend = el('div', { class: 'legend' },
    el('span', { class: 'key issued', text: T('chart.issued') }), el('span', { class: 'key outstanding', text: T('chart.outstanding') }));
  target.replaceChildren(g, legend);
}

// niceStep rounds an axis step up to 1, 2 or 5 times a power of ten.
function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map(m => m * p).find(s => s >= raw);
}

// ---------- funds ----------

async function loadFunds() {
  state.funds = (await api('/v1/funds')).funds;
  renderFunds();
}

function renderFunds() {
  const canTrace = state.role === 'officer' || state.role === 'auditor';
  const head = [T('funds.id'), T('funds.name'), T('funds.kind'), T('funds.region'), T('funds.allocated'),
    T('funds.received'), T('funds.paid_out'), T('funds.balance'), ''];
  table($('funds'), head, state.funds.map(f => el('tr', { 'data-fund': f.fund_id },
    el('td', { text: f.fund_id }), el('td', { text: f.name }), el('td', { text: T('kind.' + f.kind) }),
    el('td', { text: regionName(f.region_code) }),
    el('td', { class: 'num', text: I18N.money(f.allocated) }), el('td', { class: 'num', text: I18N.money(f.received) }),
    el('td', { class: 'num', text: I18N.money(f.paid_out) }),
    el('td', { class: 'num strong', 'data-balance': f.balance, text: I18N.money(f.balance) }),
    el('td', {}, canTrace ? el('button', { type: 'button', class: 'ghost', text: T('funds.history'), onclick: () => openHistory('fund', f.fund_id) }) : null))));
}

function updateFund(f) {
  const i = state.funds.findIndex(x => x.fund_id === f.fund_id);
  if (i < 0) state.funds.push(f); else state.funds[i] = f;
  renderFunds();
}

// ---------- history ----------

// HISTORY_ROWS is how many of an account's latest movements the page shows.
const HISTORY_ROWS = 500;

// typeName labels an event type such as "subsidy.paid.v1" for the reader.
function typeName(type) {
  const key = 'type.' + type.replace(/\.v\d+$/, '');
  const label = T(key);
  return label === key ? type : label;
}

function historyPath() {
  const account = $('history-kind').value + ':' + $('history-id').value.trim();
  return '/v1/history?' + query({ account, from: $('history-from').value, to: $('history-to').value });
}

async function loadHistory() {
  if (!$('history-id').value.trim()) return;
  state.history = await api(historyPath());
  renderHistory();
}

function renderHistory() {
  const h = state.history;
  if (!h) return;
  $('history-title').textContent = h.account + ' · ' + T('history.balance', I18N.money(h.balance));
  // A busy fund has thousands of movements: the page shows the latest ones
  // and the CSV download has them all.
  const shown = h.entries.slice(-HISTORY_ROWS);
  $('history-note').textContent = shown.length < h.entries.length
    ? T('history.partial', I18N.count(String(shown.length)), I18N.count(String(h.entries.length))) : '';
  table($('history'), [T('col.date'), T('col.type'), T('col.amount'), T('col.counterparty'), T('col.document'), T('col.balance_after')],
    shown.map(e => el('tr', {},
      el('td', { class: 'nowrap', text: I18N.date(e.date) }), el('td', { class: 'nowrap', text: typeName(e.type), title: e.type }),
      el('td', { class: 'num' + (e.amount.startsWith('-') ? ' neg' : ''), text: I18N.money(e.amount) }),
      el('td', { class: 'clip', text: e.counterparty, title: e.counterparty }), el('td', { class: 'clip', text: e.document, title: e.document }),
      el('td', { class: 'num strong', 'data-balance-after': e.balance_after, text: I18N.money(e.balance_after) }))));
}

function openHistory(kind, id) {
  $('history-kind').value = kind;
  $('history-id').value = id;
  showPage('history');
}

// ---------- live updates ----------

// reconnectLive follows the views of the shown region. EventSource cannot
// send an Authorization header, so the token goes as ?access_token=, which
// the server accepts on /v1/subscribe only. The funds page follows every
// fund, whatever its region.
function reconnectLive() {
  if (!state.token || !state.region) return;
  const region = state.page === 'funds' ? '' : state.region;
  const url = '/v1/subscribe?' + query({ views: 'progress,portfolio,funds', region, access_token: state.token });
  if (state.live && state.liveURL === url) return;
  closeLive();
  const es = new EventSource(url);
  state.live = es;
  state.liveURL = url;
  es.addEventListener('open', () => { setLive(true); refreshPage().catch(showError); });
  es.addEventListener('error', () => {
    setLive(false);
    if (es.readyState === EventSource.CLOSED) {
      state.live = null;
      clearTimeout(state.retryTimer);
      state.retryTimer = setTimeout(reconnectLive, LIVE_RETRY_MS);
    }
  });
  es.addEventListener('progress', ev => onProgressChange(JSON.parse(ev.data)));
  es.addEventListener('portfolio', ev => onPortfolioChange(JSON.parse(ev.data)));
  es.addEventListener('funds', ev => updateFund(JSON.parse(ev.data)));
}

function closeLive() {
  if (state.live) state.live.close();
  state.live = null;
  state.liveURL = '';
  setLive(false);
}

function setLive(on) {
  $('live').className = 'live ' + (on ? 'on' : 'off');
  $('live-text').textContent = T(on ? 'live.on' : 'live.off');
}

// A pushed progress view is shown as it is when it is the one on screen (no
// issuer filter); otherwise the page asks again.
function onProgressChange(p) {
  if (p.region !== state.region || p.year !== state.year) return;
  if (state.issuer === '') {
    state.progress = p;
    renderProgress();
  } else {
    later(loadProgress);
  }
}

function onPortfolioChange(p) {
  if (p.region === state.region && state.page === 'portfolio') later(loadPortfolio);
}

function later(fn) {
  clearTimeout(state.liveTimer);
  state.liveTimer = setTimeout(() => fn().catch(showError), LIVE_DEBOUNCE_MS);
}

// ---------- pages ----------

function showPage(page) {
  if (page === 'history' && !canSeeHistory()) page = 'progress';
  state.page = page;
  for (const p of ['progress', 'portfolio', 'funds', 'history']) $('page-' + p).hidden = p !== page;
  document.querySelectorAll('#nav button').forEach(b => b.classList.toggle('active', b.dataset.page === page));
  location.hash = page;
  reconnectLive();
  showError(null);
  refreshPage().catch(showError);
}

function canSeeHistory() {
  return state.role === 'officer' || state.role === 'auditor';
}

function refreshPage() {
  switch (state.page) {
    case 'progress': return loadProgress();
    case 'portfolio': return loadPortfolio();
    case 'funds': return loadFunds();
    case 'history': return loadHistory();
  }
  return Promise.resolve();
}

function rerender() {
  I18N.apply(document);
  $('lang').textContent = I18N.lang === 'zh' ? 'English' : '中文';
  if (state.role) $('who').textContent = state.name + ' · ' + T('role.' + state.role);
  setLive(!!state.live && state.live.readyState === EventSource.OPEN);
  fillYearPicker($('year'), state.year, false);
  fillYearPicker($('pf-year'), state.pfYear, true);
  if (state.progress) renderProgress();
  if (state.portfolio && state.page === 'portfolio') renderPortfolio();
  if (state.chart && state.page === 'portfolio') drawChart($('portfolio-chart'), state.chart.year, state.chart.series);
  if (state.funds.length) renderFunds();
  if (state.history) renderHistory();
}

// ---------- sign-in ----------

async function signIn(token) {
  state.token = token;
  let me;
  try {
    me = await api('/v1/whoami');
  } catch (err) {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.role = me.role;
  state.name = me.name;
  const catalog = await api('/v1/regions');
  state.regions = catalog.regions;
  state.years = catalog.years.length ? catalog.years : [new Date().getFullYear()];
  state.year = state.years.at(-1);
  state.pfYear = String(state.year);
  const roots = state.regions.filter(r => !r.parent_code);
  // Start at the first root with children below it: a city's screen rather than an empty province.
  state.region = (roots.find(r => state.regions.some(c => c.parent_code === r.code)) || roots[0] || {}).code || '';
  fillRegionPicker($('region'), state.region);
  fillRegionPicker($('pf-region'), state.region);
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('signout').hidden = false;
  document.querySelectorAll('[data-roles]').forEach(b => { b.hidden = !b.dataset.roles.split(' ').includes(state.role); });
  document.body.dataset.role = state.role;
  rerender();
  const wanted = location.hash.slice(1);
  showPage(['progress', 'portfolio', 'funds', 'history'].includes(wanted) ? wanted : 'progress');
}

function signOut() {
  closeLive();
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = '';
  location.reload();
}

function wire() {
  $('signin-form').addEventListener('submit', ev => {
    ev.preventDefault();
    $('signin-error').hidden = true;
    signIn($('token').value.trim()).catch(err => {
      $('signin-error').textContent = err.status === 401 ? T('signin.bad') : T('error.generic', err.message);
      $('signin-error').hidden = false;
    });
  });
  $('signout').addEventListener('click', signOut);
  $('lang').addEventListener('click', () => {
    I18N.lang = I18N.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem(LANG_KEY, I18N.lang);
    rerender();
  });
  document.querySelectorAll('#nav button').forEach(b => b.addEventListener('click', () => showPage(b.dataset.page)));
  $('region').addEventListener('change', ev => selectRegion(ev.target.value));
  $('pf-region').addEventListener('change', ev => selectRegion(ev.target.value));
  $('year').addEventListener('change', ev => { state.year = Number(ev.target.value); loadProgress().catch(showError); });
  $('pf-year').addEventListener('change', ev => { state.pfYear = ev.target.value; loadPortfolio().catch(showError); });
  $('issuer').addEventListener('change', ev => { state.issuer = ev.target.value; loadProgress().catch(showError); });
  $('rank-indicator').addEventListener('change', ev => { state.rankIndicator = ev.target.value; renderRanking(); });
  $('rank-xlsx').addEventListener('click', () => {
    const q = query({ region: state.region, year: state.year, issuer: state.issuer });
    download('/v1/progress/ranking.xlsx?' + q, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      `tongbao-${state.region}-${state.year}.xlsx`).catch(showError);
  });
  $('history-form').addEventListener('submit', ev => { ev.preventDefault(); loadHistory().catch(showError); });
  $('history-csv').addEventListener('click', () => {
    if (!$('history-id').value.trim()) return;
    download(historyPath(), 'text/csv', `history-${$('history-kind').value}-${$('history-id').value.trim()}.csv`).catch(showError);
  });
  $('drill-close').addEventListener('click', () => $('drill').close());
}

// redrawChart follows the window's width (a wall screen, a resized window).
let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (state.page === 'portfolio' && state.chart) drawChart($('portfolio-chart'), state.chart.year, state.chart.series);
  }, LIVE_DEBOUNCE_MS);
});

function start() {
  I18N.lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
  wire();
  rerender();
  if (state.token) signIn(state.token).catch(() => { $('signin').hidden = false; });
}

start();
