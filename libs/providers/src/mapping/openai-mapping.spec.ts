import { ErrorCode, GatewayError } from '@xrouter/common';
import { newToolCallId, parseToolArguments, textOf, toolNameFor, toolNamesById } from './openai-mapping';

describe('textOf', () => {
  it('should join text parts with newlines', () => {
    expect(
      textOf(
        [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
        'messages[0].content',
      ),
    ).toBe('a\nb');
    expect(textOf('plain', 'p')).toBe('plain');
    expect(textOf(null, 'p')).toBe('');
  });

  it('should refuse image parts naming the part', () => {
    try {
      textOf(
        [
          { type: 'text', text: 'a' },
          { type: 'image_url', image_url: { url: 'x' } },
        ],
        'messages[1].content',
      );
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).param).toBe('messages[1].content[1]');
    }
  });
});

describe('tool calls', () => {
  it('should synthesize distinct call ids', () => {
    const ids = new Set(Array.from({ length: 100 }, newToolCallId));
    expect(ids.size).toBe(100);
    expect([...ids][0]).toMatch(/^call_[\w-]{24}$/);
  });

  it('should find the function a tool message answers', () => {
    const names = toolNamesById([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
    ]);
    expect(toolNameFor(names, { role: 'tool', tool_call_id: 'call_1', content: 'x' }, 'messages[1]')).toBe('f');
    expect(() => toolNameFor(names, { role: 'tool', tool_call_id: 'nope', content: 'x' }, 'messages[1]')).toThrow(
      GatewayError,
    );
  });

  it('should parse argument objects and refuse anything else with 400', () => {
    expect(parseToolArguments('{"a":1}', 'p')).toEqual({ a: 1 });
    expect(parseToolArguments('', 'p')).toEqual({});
    for (const bad of ['[1]', '{oops', '"s"']) {
      try {
        parseToolArguments(bad, 'messages[1].tool_calls[0].function.arguments');
        throw new Error('expected a refusal');
      } catch (error) {
        expect((error as GatewayError).code).toBe(ErrorCode.BAD_REQUEST);
      }
    }
  });
});
