// The public board's logic without DOM (board.js draws it): the check of
// a message before it is sent, the same rules as the server's
// (board.CheckText), and the status names.

export const MAX_TEXT = 1000;

export const STATUS_NAMES = {
  pending: '待受理',
  rejected: '不予受理',
  accepted: '已受理',
  in_progress: '办理中',
  done: '已办结',
  replied: '已答复',
};

/** MARKUP finds HTML or script in a message, as the server does. */
const MARKUP = /<\/?[a-z!?]|&#?[a-z0-9]+;|javascript\s*:|vbscript\s*:|data\s*:\s*text\/html|\bon[a-z]+\s*=/i;

/** textProblem says what is wrong with a message's text, '' if nothing. */
export function textProblem(text) {
  const t = String(text ?? '');
  if (!t.trim()) return '请填写留言内容';
  const n = [...t].length;
  if (n > MAX_TEXT) return `留言最多 ${MAX_TEXT} 字，现在 ${n} 字`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(t)) return '留言含有不可见的控制字符';
  if (MARKUP.test(t)) return '留言请用纯文字，不要包含网页代码或脚本';
  return '';
}

/** phoneProblem says what is wrong with a callback phone, '' if nothing (or empty). */
export function phoneProblem(phone) {
  const p = String(phone ?? '').trim();
  if (!p) return '';
  return /^[0-9+-]{7,20}$/.test(p) ? '' : '电话为 7 到 20 位数字';
}

/** charCount is the counter under the text box: 12/1000. */
export function charCount(text) {
  return `${[...String(text ?? '')].length}/${MAX_TEXT}`;
}

/** groupCategories groups [{code, name, group}] by group, in order. */
export function groupCategories(list) {
  const out = new Map();
  for (const c of list || []) {
    if (!out.has(c.group)) out.set(c.group, []);
    out.get(c.group).push(c);
  }
  return out;
}
