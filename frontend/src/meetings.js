// A village's villagers' meetings at /village/{code}/meetings (村民说事):
// the meetings, newest first, each matter with its stage (说事 → 议事 → 办事 →
// 评事) and a button for its next stage, and a form to record a meeting.
// Test hooks: [data-testid=meetings-list] with one .meeting[data-id] each,
// .matter[data-n][data-stage], [data-testid=meeting-form].
import * as api from './api.js';
import { clear, h } from './dom.js';
import { dateTime } from './format.js';
import './meetings.css';

const STAGES = { raised: '说事', discussed: '议事', done: '办事', judged: '评事' };
const VERDICTS = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };

/** nextStep is the body that moves a matter on, asked of the user, or null. */
function nextStep(m) {
  if (m.stage === 'raised') {
    const decision = prompt('议事：会议决定');
    return decision ? { stage: 'discussed', decision } : null;
  }
  if (m.stage === 'discussed') {
    const note = prompt('办事：办理情况（留空则转为吹哨）');
    if (note === null) return null;
    return note ? { stage: 'done', note } : { stage: 'done', whistle: true };
  }
  if (m.stage === 'done') {
    const v = prompt('评事：村民评价（满意 / 基本满意 / 不满意）', '满意');
    const verdict = Object.keys(VERDICTS).find((k) => VERDICTS[k] === (v || '').trim());
    return verdict ? { stage: 'judged', verdict } : null;
  }
  return null;
}

export class MeetingsPage {
  /** ctx: {user, route: {code}, setStatus, setReady}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.code = ctx.route.code;
    this.destroyed = false;
  }

  async start() {
    this.ctx.setStatus('正在加载村民说事…');
    this.list = h('div', { class: 'meetings-list', 'data-testid': 'meetings-list' });
    this.form = this.#form();
    this.view.append(h('section', { class: 'meetings-page' },
      h('h1', { text: `村民说事 · ${this.code}` }), this.form, this.list));
    await this.#load();
    if (this.destroyed) return;
    this.ctx.setStatus('');
    this.ctx.setReady(true);
  }

  destroy() {
    this.destroyed = true;
  }

  async #load() {
    let data;
    try {
      data = await api.meetings(this.code);
    } catch (err) {
      this.ctx.setStatus(err.status === 404 ? '该村不在您的辖区内' : `加载失败：${err.message}`, true);
      return;
    }
    if (this.destroyed) return;
    clear(this.list);
    if (!data.meetings.length) this.list.append(h('p', { class: 'empty', text: '尚无村民说事记录' }));
    for (const mt of data.meetings) {
      this.list.append(h('article', { class: 'meeting', 'data-id': String(mt.id) },
        h('h2', { text: `${dateTime(mt.held_at)} · ${mt.place}` }),
        h('p', { class: 'meeting-meta', text: `主持：${mt.host} · 参会 ${mt.attendees} 人` }),
        h('ol', {}, mt.matters.map((m) => h('li', { class: 'matter', 'data-n': String(m.n), 'data-stage': m.stage },
          h('span', { class: `stage stage-${m.stage}`, text: STAGES[m.stage] || m.stage }),
          m.risk ? h('span', { class: 'risk-mark', title: m.risk.reasons.join('；'), text: '高风险' }) : null,
          h('span', { class: 'matter-text', text: m.text }),
          m.decision ? h('span', { class: 'matter-note', text: `决定：${m.decision}` }) : null,
          m.whistle_id ? h('span', { class: 'matter-note', text: `哨单 #${m.whistle_id}` }) : null,
          m.verdict ? h('span', { class: 'matter-note', text: `评价：${VERDICTS[m.verdict]}` }) : null,
          m.stage !== 'judged'
            ? h('button', { type: 'button', onclick: () => this.#advance(mt.id, m) }, `进入${STAGES[{ raised: 'discussed', discussed: 'done', done: 'judged' }[m.stage]]}`)
            : null)))));
    }
  }

  async #advance(id, m) {
    const body = nextStep(m);
    if (!body) return;
    try {
      await api.advanceMatter(id, m.n, body);
    } catch (err) {
      this.ctx.setStatus(`未能保存：${err.message}`, true);
      return;
    }
    await this.#load();
  }

  #form() {
    const field = (label, input) => h('label', {}, h('span', { text: label }), input);
    const held = h('input', { type: 'datetime-local', name: 'held_at', required: true });
    const place = h('input', { name: 'place', required: true, value: '村委会' });
    const host = h('input', { name: 'host', required: true });
    const attendees = h('input', { type: 'number', name: 'attendees', min: '0', value: '0' });
    const category = h('input', { name: 'category', required: true, placeholder: '类别代码，如 CM.01.03' });
    const matters = h('textarea', { name: 'matters', rows: '3', required: true, placeholder: '每行一件事' });
    const form = h('form', { class: 'meeting-form', 'data-testid': 'meeting-form' },
      h('h2', { text: '登记村民说事' }),
      field('时间', held), field('地点', place), field('主持人', host), field('参会人数', attendees),
      field('类别', category), field('所说事项', matters),
      h('button', { type: 'submit', text: '登记' }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = {
        held_at: new Date(held.value).toISOString(), place: place.value, host: host.value, attendees: Number(attendees.value),
        matters: matters.value.split('\n').map((t) => t.trim()).filter(Boolean).map((text) => ({ text, category: category.value.trim() })),
      };
      try {
        await api.postMeeting(this.code, body);
      } catch (err) {
        this.ctx.setStatus(`未能登记：${err.message}`, true);
        return;
      }
      this.ctx.setStatus('');
      form.reset();
      await this.#load();
    });
    return form;
  }
}
