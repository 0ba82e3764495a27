// Downloads of the pages' exports: an /api/v1 export fetched with the
// token and saved under the server's (Chinese) file name, and a data URL
// (a chart's PNG) saved as a file. Test hook: body[data-last-download]
// holds the name of the last file saved.
import * as api from './api.js';
import { filenameOf } from './stats-state.js';

function save(href, name) {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  document.body.dataset.lastDownload = name;
}

/**
 * downloadExport saves GET /api/v1/{path} (an xlsx or csv export) under
 * the server's file name (fallback without one) and answers that name.
 * Every page's export goes through it (statistics, assessment, the
 * ledger's review, an import's rejects).
 */
export async function downloadExport(path, fallback) {
  const { blob, disposition } = await api.fetchFile(path);
  const url = URL.createObjectURL(blob);
  const name = filenameOf(disposition, fallback);
  save(url, name);
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** downloadDataURL saves a data URL (a chart's PNG) as name. */
export function downloadDataURL(dataURL, name) {
  save(dataURL, name);
}
