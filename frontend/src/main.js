// The page: login, the title bar and the grid map. Test hooks: the
// [data-testid=township-count] and [data-testid=village-count] texts and
// body[data-map-ready="1"] once the grids are drawn.
import * as api from './api.js';
import { GridMap } from './gridmap.js';
import { ROLE_NAMES } from './names.js';
// After gridmap.js, so these rules come after maplibre-gl.css and win ties.
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
};

let gridMap = null;
let generation = 0; // bumped on every login/logout so a stale load draws nothing

function setStatus(text, isError = false) {
  ui.status.hidden = !text;
  ui.status.textContent = text || '';
  ui.status.classList.toggle('error', isError);
}

function setReady(ready) {
  if (ready) document.body.dataset.mapReady = '1';
  else delete document.body.dataset.mapReady;
}

function showLogin(message = '') {
  generation++;
  setReady(false);
  gridMap?.clear();
  ui.townshipCount.textContent = '–';
  ui.villageCount.textContent = '–';
  ui.session.hidden = true;
  ui.backdrop.hidden = false;
  ui.error.hidden = !message;
  ui.error.textContent = message;
  ui.submit.disabled = false;
  setStatus('');
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
}

async function start() {
  const gen = ++generation;
  showUser(api.getUser());
  setReady(false);
  if (!gridMap) {
    try {
      gridMap = new GridMap($('#map'));
    } catch (err) {
      console.error(err);
      setStatus('地图无法初始化：浏览器不支持 WebGL', true);
      return;
    }
  }
  setStatus('正在加载网格…');
  try {
    const [district, townships, villages] = await Promise.all([
      api.grids('district'),
      api.grids('township'),
      api.grids('village'),
    ]);
    if (gen !== generation) return;
    const drawn = await gridMap.draw({ district, townships, villages });
    if (gen !== generation) return;
    ui.townshipCount.textContent = String(drawn.townships);
    ui.villageCount.textContent = String(drawn.villages);
    setStatus('');
    setReady(true);
  } catch (err) {
    if (gen !== generation) return;
    if (err instanceof api.ApiError && err.status === 401) return; // login form is already up
    console.error(err);
    setStatus(`网格加载失败：${err.message}`, true);
  }
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

window.addEventListener('storage', (e) => {
  // Logged out in another tab.
  if (e.key === api.TOKEN_KEY && !e.newValue) showLogin();
});

if (api.getToken()) start();
else showLogin();
