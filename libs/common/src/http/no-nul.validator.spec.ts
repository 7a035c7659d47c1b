import { IsOptional, IsString } from 'class-validator';
import { ErrorCode } from '../errors/error-code';
import { GatewayError } from '../errors/gateway.error';
import { HasNoNul } from './no-nul.validator';
import { createValidationPipe } from './validation.pipe';

class Sample {
  @IsString() @HasNoNul() name!: string;
  @IsOptional() @IsString({ each: true }) @HasNoNul({ each: true }) uris?: string[];
}

async function violation(body: object): Promise<{ param: string | null; message: string } | null> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype: Sample });
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe(ErrorCode.BAD_REQUEST);
    return { param: (error as GatewayError).param, message: (error as GatewayError).message };
  }
}

describe('HasNoNul', () => {
  it.each([
    [{ name: 'plain' }, null],
    [{ name: 'Анна Петрова' }, null],
    [{ name: '' }, null],
    [{ name: 'a\u0000b' }, 'name'],
    [{ name: '\u0000' }, 'name'],
    [{ name: 'ok', uris: ['https://a.example/cb', 'https://b.example/\u0000'] }, 'uris'],
    [{ name: 'ok', uris: ['https://a.example/cb'] }, null],
  ])('should judge %j (400 naming %s)', async (body, param) => {
    const found = await violation(body);
    expect(found?.param ?? null).toBe(param);
    if (param) expect(found?.message).toMatch(/NUL/);
  });
});
