// The device's outbox of reports (/report): each report waits here, with
// its resized photos as Blobs, from the moment it is made until the server
// has taken it, so that a report made offline, or cut off mid-way, is sent
// when the network returns under the same external_id. IndexedDB, one
// object store keyed by external_id; each item names its user, so that on
// a shared phone one worker's reports are not sent under another's login.

const DB = 'whistlegrid-outbox';
const STORE = 'reports';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'external_id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** put saves (or replaces) an item. */
export function put(item) {
  return run('readwrite', (s) => s.put(item));
}

/** remove deletes the item of externalID. */
export function remove(externalID) {
  return run('readwrite', (s) => s.delete(externalID));
}

/** pending lists the items of user, oldest first. */
export async function pending(user) {
  const all = (await run('readonly', (s) => s.getAll())) || [];
  return all.filter((i) => i.user === user).sort((a, b) => a.created - b.created);
}
