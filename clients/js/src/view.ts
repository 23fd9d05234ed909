// A viewer's view of a document: a plain JSON tree merged from the deltas of protocol spec §6.2.
//
// Lists (record lists with `@o`, sized lists with `@s`) are plain arrays in the tree; what the
// merge needs to know about them (element key → element, the keys in array order) lives beside
// the tree in a WeakMap, so the tree the page reads has no hidden keys. Two behaviours differ from
// the original client's tree on purpose:
// - an element changed without `@o`/`@s` (a scalar of a sized list, or a record replaced) shows
//   in the array: the array is rebuilt from the previous order of keys;
// - only a value that is already a list, or a new object whose `@o`/`@s` is shaped like an order
//   instruction, is merged as a list, so a dynamic value that was an array and becomes an object
//   becomes that object. (A brand-new dynamic object that itself holds a well-formed `@o` or `@s`
//   key is indistinguishable from a list on the wire and is read as one.)

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Path = readonly string[];
export type ChangeListener = (value: unknown, path: Path) => void;

interface ListState {
  /** element key → element */
  elements: Map<string, unknown>;
  /** element keys in array order */
  order: string[];
}

const ORDER = "@o";
const SIZE = "@s";
const SEPARATOR = "\u0000";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isOrderEntry(entry: unknown): boolean {
  if (typeof entry === "number" || typeof entry === "string") {
    return true;
  }
  return (
    Array.isArray(entry) &&
    entry.length === 2 &&
    Number.isInteger(entry[0]) &&
    Number.isInteger(entry[1])
  );
}

function isListDelta(delta: Record<string, unknown>): boolean {
  const order = delta[ORDER];
  if (Array.isArray(order) && order.every(isOrderEntry)) {
    return true;
  }
  const size = delta[SIZE];
  return Number.isInteger(size) && (size as number) >= 0;
}

function pathKey(path: Path): string {
  return path.join(SEPARATOR);
}

/** Records which paths a merge changed, so that only their listeners run. */
class Changes {
  /** paths whose value was set, replaced or deleted */
  readonly exact = new Set<string>();
  /** every prefix of those paths (the path itself included) */
  readonly touched = new Set<string>();

  add(path: string[], last?: string): void {
    let key = "";
    this.touched.add(key);
    const length = path.length + (last === undefined ? 0 : 1);
    for (let index = 0; index < length; index++) {
      const segment = index < path.length ? path[index] : (last as string);
      key = index === 0 ? segment : key + SEPARATOR + segment;
      this.touched.add(key);
    }
    this.exact.add(key);
  }

  /** Records a change of `path` itself (a list's order) that leaves the values under it as they were. */
  touch(path: string[]): void {
    let key = "";
    this.touched.add(key);
    for (let index = 0; index < path.length; index++) {
      key = index === 0 ? path[0] : key + SEPARATOR + path[index];
      this.touched.add(key);
    }
  }

  /** Whether the value at `path` may differ: a change at or under it, or above it. */
  affects(path: Path): boolean {
    if (this.touched.has(pathKey(path))) {
      return true;
    }
    let key = "";
    for (let index = 0; index < path.length - 1; index++) {
      key = index === 0 ? path[0] : key + SEPARATOR + path[index];
      if (this.exact.has(key)) {
        return true;
      }
    }
    return false;
  }
}

export class View {
  private root: Record<string, unknown> = {};
  private lists = new WeakMap<unknown[], ListState>();
  private keyOfElement = new WeakMap<object, string>();
  private listeners = new Map<string, { path: Path; callbacks: Set<ChangeListener> }>();

  /** The current tree. Lists are arrays; it is updated in place by every merge. */
  get data(): Record<string, unknown> {
    return this.root;
  }

  /** A deep copy of the tree, for a page that wants a snapshot it may mutate. */
  snapshot(): Record<string, unknown> {
    return structuredClone(this.root);
  }

  /** The value at `path` (field names, and element keys inside lists), or undefined. */
  get(path: Path | string): unknown {
    let value: unknown = this.root;
    for (const segment of toPath(path)) {
      if (Array.isArray(value)) {
        const list = this.lists.get(value);
        value = list ? list.elements.get(segment) : value[Number(segment)];
      } else if (isObject(value)) {
        value = value[segment];
      } else {
        return undefined;
      }
    }
    return value;
  }

  /** The key (the row id, or the index of a sized list) of an object element of a list. */
  keyOf(element: object): string | undefined {
    return this.keyOfElement.get(element);
  }

  /** The element keys of the list at `path`, in order. */
  keys(path: Path | string): string[] {
    const value = this.get(path);
    const list = Array.isArray(value) ? this.lists.get(value) : undefined;
    return list ? [...list.order] : [];
  }

  /**
   * Calls `listener(value, path)` after every merge that may have changed the value at `path`
   * (a change at, under or above it). The empty path listens to every change. Returns the
   * function that stops listening.
   */
  on(path: Path | string, listener: ChangeListener): () => void {
    const segments = toPath(path);
    const key = pathKey(segments);
    let entry = this.listeners.get(key);
    if (!entry) {
      entry = { path: segments, callbacks: new Set() };
      this.listeners.set(key, entry);
    }
    entry.callbacks.add(listener);
    const registered = entry;
    return () => {
      registered.callbacks.delete(listener);
      if (registered.callbacks.size === 0) {
        this.listeners.delete(key);
      }
    };
  }

  /** Merges one `data` delta into the tree, then runs the listeners of what changed. */
  merge(delta: JsonObject): void {
    const changes = this.listeners.size > 0 ? new Changes() : null;
    this.mergeObject(this.root, delta, [], changes);
    if (changes) {
      this.notify((path) => changes.affects(path));
    }
  }

  /** Replaces the whole tree by `data` (a stream that resumed sends its full view) and runs every listener. */
  replace(data: JsonObject): void {
    this.root = {};
    this.lists = new WeakMap();
    this.keyOfElement = new WeakMap();
    this.mergeObject(this.root, data, [], null);
    this.notify(() => true);
  }

  private notify(affected: (path: Path) => boolean): void {
    for (const { path, callbacks } of [...this.listeners.values()]) {
      if (affected(path)) {
        const value = this.get(path);
        for (const callback of [...callbacks]) {
          callback(value, path);
        }
      }
    }
  }

  private mergeObject(
    target: Record<string, unknown>,
    delta: Record<string, unknown>,
    path: string[],
    changes: Changes | null,
  ): void {
    for (const key of Object.keys(delta)) {
      const value = delta[key];
      const prior = target[key];
      if (value === null) {
        if (key in target) {
          delete target[key];
          changes?.add(path, key);
        }
      } else if (typeof value !== "object" || Array.isArray(value)) {
        target[key] = value;
        changes?.add(path, key);
      } else if (
        (Array.isArray(prior) && this.lists.has(prior)) ||
        (!isObject(prior) && isListDelta(value as Record<string, unknown>))
      ) {
        path.push(key);
        target[key] = this.mergeList(prior, value as Record<string, unknown>, path, changes);
        path.pop();
      } else {
        let object = prior;
        if (!isObject(object)) {
          object = {};
          target[key] = object;
          changes?.add(path, key);
        }
        path.push(key);
        this.mergeObject(object as Record<string, unknown>, value as Record<string, unknown>, path, changes);
        path.pop();
      }
    }
  }

  private mergeList(
    prior: unknown,
    delta: Record<string, unknown>,
    path: string[],
    changes: Changes | null,
  ): unknown[] {
    let array: unknown[];
    let list: ListState;
    const existing = Array.isArray(prior) ? this.lists.get(prior) : undefined;
    if (existing) {
      array = prior as unknown[];
      list = existing;
    } else {
      array = [];
      list = { elements: new Map(), order: [] };
      this.lists.set(array, list);
      changes?.add(path);
    }
    // Keys whose element this delta created, replaced or removed: for them the previous array
    // cannot be reused. `stale`: the array no longer shows the map's elements in `list.order`.
    const renewed = new Set<string>();
    let stale = false;
    for (const key of Object.keys(delta)) {
      if (key === ORDER || key === SIZE) {
        continue;
      }
      const value = delta[key];
      if (value === null) {
        if (list.elements.delete(key)) {
          renewed.add(key);
          stale = true;
          changes?.add(path, key);
        }
      } else if (isObject(value)) {
        let element = list.elements.get(key);
        if (!isObject(element)) {
          element = {};
          list.elements.set(key, element);
          this.keyOfElement.set(element as object, key);
          renewed.add(key);
          stale = true;
          changes?.add(path, key);
        }
        path.push(key);
        this.mergeObject(element as Record<string, unknown>, value, path, changes);
        path.pop();
      } else {
        list.elements.set(key, value);
        renewed.add(key);
        stale = true;
        changes?.add(path, key);
      }
    }

    const instruction = delta[ORDER];
    const size = delta[SIZE];
    if (!stale && !Array.isArray(instruction) && !(Number.isInteger(size) && (size as number) >= 0)) {
      return array;
    }
    // The rebuilt list is a new array, so a page can tell a changed list by its identity.
    const order: string[] = [];
    const items: unknown[] = [];
    const previousOrder = list.order;
    const show = (key: string) => {
      if (list.elements.has(key)) {
        order.push(key);
        items.push(list.elements.get(key));
      }
    };
    if (Array.isArray(instruction)) {
      for (const entry of instruction) {
        if (!Array.isArray(entry)) {
          show(String(entry));
          continue;
        }
        const [from, to] = entry as [number, number];
        const last = Math.min(to, previousOrder.length - 1);
        for (let index = Math.max(from, 0); index <= last; index++) {
          const key = previousOrder[index];
          if (renewed.has(key)) {
            show(key);
          } else {
            order.push(key);
            items.push(array[index]);
          }
        }
      }
    } else if (Number.isInteger(size) && (size as number) >= 0) {
      for (let index = 0; index < (size as number); index++) {
        show(String(index));
      }
    } else {
      for (const key of previousOrder) {
        show(key);
      }
    }
    list.order = order;
    this.lists.set(items, list);
    changes?.touch(path);
    return items;
  }
}

function toPath(path: Path | string): Path {
  if (typeof path !== "string") {
    return path;
  }
  return path === "" ? [] : path.split("/");
}
