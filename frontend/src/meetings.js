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

const NEXT = { raised: 'discussed', discussed: 'done', done: 'judged' };

/**
 * stepForm is the inline form that moves a matter to its next stage (议事
 * with the meeting's decision, 办事 with a note or, left empty, as a
 * whistle, 评事 with the villagers' verdict); onSubmit gets the PATCH body.
 */
function stepForm(mt, m, onSubmit) {
  const id = `step-${mt.id}-${m.n}`;
  const field = (label, input) => h('label', { for: input.id }, label, input);
  let fields;
  let body;
  if (m.stage === 'raised') {
    const decision = h('input', { id: `${id}-decision`, name: 'decision', required: true, 'data-testid': 'step-decision' });
    fields = [field('会议决定', decision)];
    body = () => ({ stage: 'discussed', decision: decision.value.trim() });
  } else if (m.stage === 'discussed') {
    const note = h('input', { id: `${id}-note`, name: 'note', 'data-testid': 'step-note' });
    fields = [field('办理情况（留空则转为吹哨）', note)];
    body = () => (note.value.trim() ? { stage: 'done', note: note.value.trim() } : { stage: 'done', whistle: true });
  } else {
    const verdict = h('select', { id: `${id}-verdict`, name: 'verdict', 'data-testid': 'step-verdict' },
      Object.entries(VERDICTS).map(([k, v]) => h('option', { value: k, text: v })));
    const note = h('input', { id: `${id}-vnote`, name: 'verdict_note' });
    fields = [field('村民评价', verdict), field('说明', note)];
    body = () => ({ stage: 'judged', verdict: verdict.value, verdict_note: note.value.trim() });
  }
  const form = h('form', { class: 'step-form', 'data-testid': 'step-form', 'aria-label': `${STAGES[NEXT[m.stage]]}：事项 ${m.n}` },
    fields, h('button', { type: 'submit', 'data-testid': 'step-save' }, '保存'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (form.reportValidity()) onSubmit(body());
  });
  return form;
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
            ? h('button', { type: 'button', 'data-testid': 'step-open', 'aria-expanded': 'false', onclick: (e) => this.#openStep(e.currentTarget, mt, m) },
              `进入${STAGES[NEXT[m.stage]]}`)
            : null)))));
    }
  }

  /** openStep shows the matter's step form after its button, and focuses its first field. */
  #openStep(button, mt, m) {
    const li = button.closest('.matter');
    const open = li.querySelector('.step-form');
    if (open) {
      open.remove();
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    const form = stepForm(mt, m, (body) => this.#advance(mt.id, m, body));
    li.append(form);
    button.setAttribute('aria-expanded', 'true');
    form.querySelector('input, select').focus();
  }

  async #advance(id, m, body) {
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
