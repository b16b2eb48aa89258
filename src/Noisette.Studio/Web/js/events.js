// The Server-Sent Events client: one stream for the page, handlers by event name. The names come from the server
// (names.js is written from StudioEvents.cs), so a page subscribes with Events.Runs, never with a string of its own.
import { Events } from "./names.js";

const handlers = new Map(Object.values(Events).map(type => [type, []]));

/** Calls handler(data) on every event of this type; returns a function that stops it. */
export function on(type, handler) {
  const list = handlers.get(type);
  if (!list) throw new Error(`the studio sends no event named ${type}`);
  list.push(handler);
  return () => { const i = list.indexOf(handler); if (i >= 0) list.splice(i, 1); };
}

/** Handlers that end together (a page's, when the route changes); none is added once the scope is closed. */
export function scope() {
  const offs = [];
  let open = true;
  return {
    on: (type, handler) => { if (open) offs.push(on(type, handler)); },
    close: () => { open = false; offs.splice(0).forEach(off => off()); },
  };
}

/** Opens the stream (it reconnects by itself) and hands every event to its handlers, in the order they were added. */
export function connect() {
  const source = new EventSource("/api/events");
  for (const [type, list] of handlers) {
    if (type === Events.Hello) continue;
    source.addEventListener(type, e => {
      const data = JSON.parse(e.data);
      for (const handler of list.slice()) handler(data);
    });
  }
  return source;
}
