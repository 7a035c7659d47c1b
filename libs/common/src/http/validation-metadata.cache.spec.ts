import { Type } from 'class-transformer';
import { IsInt, IsString, MetadataStorage, registerDecorator, ValidateNested, validate } from 'class-validator';
import { memoizeValidationMetadata } from './validation-metadata.cache';

class Part {
  @IsString() text!: string;
}

class Message {
  @IsString() role!: string;
  @ValidateNested({ each: true }) @Type(() => Part) parts!: Part[];
}

class Derived extends Message {
  @IsInt() weight!: number;
}

const plain = (target: object, values: object) => Object.assign(Object.create(target) as object, values);

describe('memoizeValidationMetadata', () => {
  it('should answer what the storage answers, and the same arrays on every call', () => {
    const reference = new MetadataStorage();
    const storage = new MetadataStorage();
    for (const s of [reference, storage]) {
      s.addValidationMetadata({ target: Part, propertyName: 'text', type: 'customValidation' } as never);
      s.addValidationMetadata({ target: Message, propertyName: 'role', type: 'customValidation' } as never);
      s.addValidationMetadata({ target: Derived, propertyName: 'weight', type: 'customValidation' } as never);
    }
    memoizeValidationMetadata(storage);
    for (const target of [Part, Message, Derived]) {
      const expected = reference.getTargetValidationMetadatas(target, '', false, false);
      const first = storage.getTargetValidationMetadatas(target, '', false, false);
      expect(first).toEqual(expected);
      expect(storage.getTargetValidationMetadatas(target, '', false, false)).toBe(first);
      expect(storage.groupByPropertyName(first)).toEqual(reference.groupByPropertyName(expected));
      expect(storage.groupByPropertyName(first)).toBe(storage.groupByPropertyName(first));
    }
    expect(
      storage
        .getTargetValidationMetadatas(Derived, '', false, false)
        .map((m) => m.propertyName)
        .sort(),
    ).toEqual(['role', 'weight']);
  });

  it('should tell apart calls that differ in groups, schema or options', () => {
    const storage = new MetadataStorage();
    storage.addValidationMetadata({
      target: Part,
      propertyName: 'text',
      type: 'customValidation',
      groups: ['a'],
    } as never);
    memoizeValidationMetadata(storage);
    expect(storage.getTargetValidationMetadatas(Part, '', false, false, ['a'])).toHaveLength(1);
    expect(storage.getTargetValidationMetadatas(Part, '', false, false, ['b'])).toHaveLength(0);
    expect(storage.getTargetValidationMetadatas(Part, '', false, true)).toHaveLength(0);
    expect(storage.getTargetValidationMetadatas(Part, '', true, false, ['a'])).toHaveLength(1);
  });

  it('should see a rule added after the first look-up', () => {
    const storage = new MetadataStorage();
    memoizeValidationMetadata(storage);
    expect(storage.getTargetValidationMetadatas(Part, '', false, false)).toHaveLength(0);
    storage.addValidationMetadata({ target: Part, propertyName: 'text', type: 'customValidation' } as never);
    expect(storage.getTargetValidationMetadatas(Part, '', false, false)).toHaveLength(1);
  });

  it('should group afresh an array it did not hand out', () => {
    const storage = new MetadataStorage();
    memoizeValidationMetadata(storage);
    const metadata = [{ propertyName: 'a' }] as never[];
    expect(Object.keys(storage.groupByPropertyName(metadata))).toEqual(['a']);
    (metadata as Array<{ propertyName: string }>).push({ propertyName: 'b' });
    expect(Object.keys(storage.groupByPropertyName(metadata))).toEqual(['a', 'b']);
  });

  it('should keep validating the global storage the same way, classes defined later included', async () => {
    memoizeValidationMetadata();
    memoizeValidationMetadata(); // idempotent
    const message = plain(Message.prototype, { role: 'user', parts: [plain(Part.prototype, { text: 1 })] });
    expect((await validate(message)).map((e) => e.property)).toEqual(['parts']);
    expect(await validate(plain(Message.prototype, { role: 'user', parts: [] }))).toEqual([]);

    class Later {
      text!: string;
    }
    expect(await validate(plain(Later.prototype, { text: 1 }), { forbidUnknownValues: false })).toEqual([]);
    registerDecorator({ target: Later, propertyName: 'text', validator: { validate: (v) => typeof v === 'string' } });
    expect((await validate(plain(Later.prototype, { text: 1 }))).map((e) => e.property)).toEqual(['text']);
  });
});
