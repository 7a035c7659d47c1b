import { ErrorCode } from '../errors/error-code';
import { GatewayError } from '../errors/gateway.error';
import { UuidPipe } from './uuid.pipe';

const ID = '5f0c6f0e-8f7a-4c55-9d1e-2b1f0d7c9a11';

describe('UuidPipe', () => {
  it.each([
    [{}, ID, ID],
    [{}, ID.toUpperCase(), ID.toUpperCase()],
    [{ optional: true }, undefined, undefined],
    [{ optional: true }, ID, ID],
  ])('should pass %j %s', (options, value, expected) => {
    expect(new UuidPipe(options).transform(value, { type: 'query', data: 'user_id' })).toBe(expected);
  });

  it.each([
    [{}, undefined],
    [{}, 'abc'],
    [{}, '------------------------------------'],
    [{}, `${ID}x`],
    [{}, ['a', 'b']],
    [{ optional: true }, ''],
    [{ optional: true }, 'abc'],
    [{ optional: true }, [ID, ID]],
  ])('should refuse %j %j with a 400 naming the parameter', (options, value) => {
    let thrown: unknown;
    try {
      new UuidPipe(options).transform(value, { type: 'query', data: 'user_id' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({ code: ErrorCode.BAD_REQUEST, param: 'user_id', status: 400 });
  });
});
