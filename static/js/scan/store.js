/* JSON values in the browser's localStorage, where the booth keeps its queue, its station
 * and its camera across reloads. A browser that refuses storage (private mode, full disk)
 * keeps them in memory for the life of the page instead. */

const memory = new Map();

export function load(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch (e) {
    return memory.has(key) ? memory.get(key) : fallback;
  }
}

export function save(key, value) {
  memory.set(key, value);
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) { /* memory only */ }
}
