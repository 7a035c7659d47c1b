import { getMetadataStorage } from 'class-validator';

type Storage = ReturnType<typeof getMetadataStorage>;
type Metadata = ReturnType<Storage['getTargetValidationMetadatas']>[number];
type Grouped = ReturnType<Storage['groupByPropertyName']>;

/** Keeps a note on the storage that it is already memoized, so the wrapping is done once per process. */
const MEMOIZED = Symbol.for('xrouter.validationMetadataMemoized');

/**
 * Makes class-validator's metadata look-ups answer from a cache. On every `validate()` class-validator filters all
 * the rules registered for a class (and each nested class) and groups them by property, and Nest's ValidationPipe
 * asks for the same rules again to look for binary values: the same answer every time, since the rules are the
 * decorators of the DTO classes. The cache is emptied whenever a rule is added (a class defined later, a schema),
 * so the answers stay exactly those of the storage; callers only read the arrays and objects it returns.
 */
export function memoizeValidationMetadata(storage: Storage = getMetadataStorage()): void {
  const marked = storage as Storage & { [MEMOIZED]?: true };
  if (marked[MEMOIZED]) return;
  marked[MEMOIZED] = true;

  const targetMetadatas = storage.getTargetValidationMetadatas.bind(storage);
  const groupByPropertyName = storage.groupByPropertyName.bind(storage);
  const addValidationMetadata = storage.addValidationMetadata.bind(storage);
  let byTarget = new Map<unknown, Map<string, Metadata[]>>();
  let grouped = new WeakMap<Metadata[], Grouped>();
  let handedOut = new WeakSet<Metadata[]>();

  storage.addValidationMetadata = (metadata) => {
    byTarget = new Map();
    grouped = new WeakMap();
    handedOut = new WeakSet();
    addValidationMetadata(metadata);
  };
  storage.getTargetValidationMetadatas = (targetConstructor, targetSchema, always, strictGroups, groups) => {
    const key = `${targetSchema}\u0000${always}\u0000${strictGroups}\u0000${groups ? JSON.stringify(groups) : ''}`;
    let forTarget = byTarget.get(targetConstructor);
    if (!forTarget) {
      forTarget = new Map();
      byTarget.set(targetConstructor, forTarget);
    }
    let found = forTarget.get(key);
    if (!found) {
      found = targetMetadatas(targetConstructor, targetSchema, always, strictGroups, groups);
      forTarget.set(key, found);
      handedOut.add(found);
    }
    return found;
  };
  storage.groupByPropertyName = (metadata) => {
    // Only the arrays this cache handed out are known not to change; any other is grouped afresh.
    if (!handedOut.has(metadata)) return groupByPropertyName(metadata);
    let found = grouped.get(metadata);
    if (!found) {
      found = groupByPropertyName(metadata);
      grouped.set(metadata, found);
    }
    return found;
  };
}
