// The page: login, the title bar, and client-side routing between the
// pages (router.js): the live wall map at "/", the coverage review at
// /coverage and a village's contact map at /village/{code}. Test hooks:
// the [data-testid=township-count] and [data-testid=village-count] texts,
// body[data-page] (the page shown) and body[data-map-ready="1"] once the
// page's map is drawn.
import * as api from './api.js';
import { h } from './dom.js';
import { ROLE_NAMES } from './names.js';
import { hasWorkbench, landing, ownVillage, parseRoute, villageHref } from './router.js';
import './style.css';

const $ = (sel) => document.querySelector(sel);
const ui = {
  backdrop: $('.login-backdrop'),
  form: $('[data-testid="login-form"]'),
  username: $('[data-testid="login-username"]'),
  password: $('[data-testid="login-password"]'),
  submit: $('[data-testid="login-submit"]'),
  error: $('[data-testid="login-error"]'),
  session: $('.session'),
  user: $('[data-testid="current-user"]'),
  logout: $('[data-testid="logout"]'),
  townshipCount: $('[data-testid="township-count"]'),
  villageCount: $('[data-testid="village-count"]'),
  status: $('.map-status'),
  view: $('#view'),
  nav: $('.nav'),
  navVillage: $('[data-testid="nav-village"]'),
  navReport: $('[data-testid="nav-report"]'),
  navWork: $('[data-testid="nav-work"]'),
  pageTitle: $('[data-testid="page-title"]'),
};

/**
 * PAGES: each route's page class, loaded on first use (each page is its own
 * chunk with its own CSS, so MapLibre and ECharts load only where a page
 * needs them), and its name in the title bar. A new page adds one line.
 */
const PAGES = {
  wall: { load: () => import('./wall.js').then((m) => m.WallPage), title: '指挥平台', doc: '延庆区 吹哨报到 指挥平台' },
  coverage: { load: () => import('./coverage.js').then((m) => m.CoveragePage), title: '网格覆盖核查', doc: '网格覆盖核查 · 延庆区 吹哨报到' },
  village: { load: () => import('./village.js').then((m) => m.VillagePage), title: '党员联系群众网格图', doc: '党员联系群众网格图 · 延庆区 吹哨报到' },
  report: { load: () => import('./report.js').then((m) => m.ReportPage), title: '网格员上报', doc: '网格员上报 · 延庆区 吹哨报到' },
  work: { load: () => import('./work.js').then((m) => m.WorkPage), title: '工作台', doc: '工作台 · 延庆区 吹哨报到' },
  whistle: { load: () => import('./whistle.js').then((m) => m.WhistlePage), title: '案件办理', doc: '案件办理 · 延庆区 吹哨报到' },
  ledger: { load: () => import('./ledger.js').then((m) => m.LedgerPage), title: '整改台账', doc: '整改台账 · 延庆区 吹哨报到' },
  board: { load: () => import('./board.js').then((m) => m.BoardPage), title: '你说我办', doc: '你说我办 · 延庆区', public: true },
  import: { load: () => import('./import.js').then((m) => m.ImportPage), title: '数据导入', doc: '数据导入 · 延庆区 吹哨报到' },
  review: { load: () => import('./import-review.js').then((m) => m.ReviewPage), title: '待定位工单', doc: '待定位工单 · 延庆区 吹哨报到' },
  stats: { load: () => import('./stats.js').then((m) => m.StatsPage), title: '统计分析', doc: '统计分析 · 延庆区 吹哨报到' },
  assessment: { load: () => import('./assessment.js').then((m) => m.AssessmentPage), title: '双向考核', doc: '双向考核 · 延庆区 吹哨报到' },
  monthly: { load: () => import('./monthly.js').then((m) => m.MonthlyPage), title: '月报', doc: '月报 · 延庆区 吹哨报到' },
  meetings: { load: () => import('./meetings.js').then((m) => m.MeetingsPage), title: '村民说事', doc: '村民说事 · 延庆区 吹哨报到' },
};

let page = null; // the mounted page
let pageName = '';
let generation = 0; // bumped on every login/logout so a stale load draws nothing
let mounts = 0; // bumped on every mount so a page whose chunk arrives late is not shown

function setStatus(text, isError = false) {
  ui.status.hidden = !text;
  ui.status.textContent = text || '';
  ui.status.classList.toggle('error', isError);
}

function setReady(ready) {
  if (ready) document.body.dataset.mapReady = '1';
  else delete document.body.dataset.mapReady;
}

function setCounts({ townships, villages } = {}) {
  ui.townshipCount.textContent = townships === undefined ? '–' : String(townships);
  ui.villageCount.textContent = villages === undefined ? '–' : String(villages);
}

function unmount() {
  page?.destroy();
  page = null;
  pageName = '';
  setReady(false);
  setStatus('');
  setCounts();
}

function showLogin(message = '') {
  generation++;
  unmount();
  ui.session.hidden = true;
  ui.nav.hidden = true;
  ui.backdrop.hidden = false;
  ui.error.hidden = !message;
  ui.error.textContent = message;
  ui.submit.disabled = false;
  ui.password.value = '';
  (ui.username.value ? ui.password : ui.username).focus();
}

function showUser(user) {
  const name = user?.display_name || user?.username || '';
  const role = ROLE_NAMES[user?.role] || user?.role || '';
  const place = user?.jurisdiction?.grid_name || user?.jurisdiction?.unit_name || '';
  ui.user.textContent = place && !name.includes(place) ? `${name} · ${place}` : name;
  ui.user.title = [role, user?.username && `账号 ${user.username}`].filter(Boolean).join(' · ');
  ui.session.hidden = false;
  ui.backdrop.hidden = true;
  ui.nav.hidden = false;
  const village = ownVillage(user);
  $('[data-testid="nav-import"]').hidden = user?.role !== 'command';
  $('[data-testid="nav-review"]').hidden = user?.role !== 'command' && user?.role !== 'township';
  ui.navVillage.hidden = !village;
  if (village) ui.navVillage.href = villageHref(village);
  ui.navReport.hidden = user?.role !== 'grid_worker';
  ui.navWork.hidden = !hasWorkbench(user);
}

function highlightNav(name) {
  for (const a of ui.nav.querySelectorAll('a[data-page]')) {
    const current = a.dataset.page === name && (name !== 'village' || a.getAttribute('href') === location.pathname);
    a.classList.toggle('current', current);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** mountRoute shows the page of the current location. */
function mountRoute() {
  const route = parseRoute(location.pathname, location.search);
  if (page && pageName === route.name && page.update) {
    page.update(route);
    return;
  }
  unmount();
  const gen = generation;
  document.body.dataset.page = route.name;
  highlightNav(route.name);
  const def = PAGES[route.name];
  if (!def) {
    ui.pageTitle.textContent = '页面不存在';
    document.title = '页面不存在 · 延庆区 吹哨报到';
    ui.view.replaceChildren(h('div', { class: 'page-message' }, h('h2', { text: '页面不存在' }), h('a', { href: '/', 'data-link': '', text: '返回指挥大屏' })));
    return;
  }
  ui.pageTitle.textContent = def.title;
  document.title = def.doc;
  const ctx = {
    user: api.getUser(),
    route,
    setStatus: (text, isError) => gen === generation && setStatus(text, isError),
    setReady: (ready) => gen === generation && setReady(ready),
    setCounts: (counts) => gen === generation && setCounts(counts),
    navigate,
  };
  pageName = route.name;
  const mounting = ++mounts;
  def
    .load()
    .then((Page) => {
      // A later route or a logout while the chunk loaded wins.
      if (mounting !== mounts || gen !== generation) return;
      page = new Page(ui.view, ctx);
      return page.start();
    })
    .catch((err) => {
      if (err instanceof api.ApiError && err.status === 401) return;
      console.error(err);
      ctx.setStatus(`页面加载失败：${err.message}`, true);
    });
}

/** navigate goes to a path of this page without reloading it. */
function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  mountRoute();
}

function start() {
  generation++;
  const user = api.getUser();
  showUser(user);
  // Each role lands on its own page (router.js landing), when this build
  // has that page.
  const target = landing(user);
  if (location.pathname === '/' && target !== '/' && PAGES[parseRoute(target).name]) history.replaceState(null, '', target);
  mountRoute();
}

api.onUnauthorized(() => showLogin('登录已失效，请重新登录'));

ui.form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const username = ui.username.value.trim();
  const password = ui.password.value;
  if (!username || !password) {
    ui.error.textContent = '请输入用户名和密码';
    ui.error.hidden = false;
    return;
  }
  ui.submit.disabled = true;
  ui.error.hidden = true;
  try {
    await api.login(username, password);
    ui.password.value = '';
    start();
  } catch (err) {
    ui.error.textContent =
      err instanceof api.ApiError && err.status === 401
        ? '用户名或密码错误'
        : err instanceof api.ApiError
          ? `登录失败：${err.message}`
          : '无法连接服务器，请稍后再试';
    ui.error.hidden = false;
    ui.password.select();
  } finally {
    ui.submit.disabled = false;
  }
});

ui.logout.addEventListener('click', async () => {
  ui.logout.disabled = true;
  await api.logout();
  ui.logout.disabled = false;
  showLogin();
});

// Links between the pages change the route without reloading; a modified
// click (new tab) or another origin is left to the browser.
document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});

window.addEventListener('popstate', () => {
  if (api.getToken() || isPublicRoute()) mountRoute();
});

window.addEventListener('storage', (e) => {
  // Logged out in another tab.
  if (e.key === api.TOKEN_KEY && !e.newValue) showLogin();
});

/** isPublicRoute: the current location is a page with no login (PAGES' public: the board). */
function isPublicRoute() {
  return Boolean(PAGES[parseRoute(location.pathname, location.search).name]?.public);
}

/** startPublic shows a public page to a visitor with no session: no login form, no nav. */
function startPublic() {
  generation++;
  ui.backdrop.hidden = true;
  ui.session.hidden = true;
  ui.nav.hidden = true;
  mountRoute();
}

if (api.getToken()) start();
else if (isPublicRoute()) startPublic();
else showLogin();
