import { createValidationPipe, GatewayError } from '@xrouter/common';
import { ChatCompletionRequestDto } from './chat-completion-request.dto';

const user = { role: 'user', content: 'weather?' };
const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } };
const asking = (tool_calls: unknown) => [user, { role: 'assistant', content: null, tool_calls }];
const body = (extra: object) => ({ model: 'GigaChat-2', messages: [user], ...extra });

/** The `param` of the 400 a body gets, or null when it is valid. */
async function refusedParam(raw: object): Promise<string | null> {
  try {
    await createValidationPipe().transform(raw, { type: 'body', metatype: ChatCompletionRequestDto });
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    return (error as GatewayError).param;
  }
}

describe('ChatCompletionRequestDto', () => {
  it.each([
    ['a plain request', body({}), null],
    ['tool_choice auto', body({ tool_choice: 'auto' }), null],
    ['tool_choice naming a function', body({ tool_choice: { type: 'function', function: { name: 'f' } } }), null],
    ['tool_choice null (absent)', body({ tool_choice: null }), null],
    ['tool_choice without function', body({ tool_choice: { type: 'function' } }), 'tool_choice'],
    ['tool_choice with function null', body({ tool_choice: { type: 'function', function: null } }), 'tool_choice'],
    [
      'tool_choice with an empty name',
      body({ tool_choice: { type: 'function', function: { name: '' } } }),
      'tool_choice',
    ],
    ['tool_choice of another type', body({ tool_choice: { type: 'x', function: { name: 'f' } } }), 'tool_choice'],
    ['tool_choice of an unknown mode', body({ tool_choice: 'sometimes' }), 'tool_choice'],
    ['tool_choice as a number', body({ tool_choice: 5 }), 'tool_choice'],
    ['a whole tool call', body({ messages: asking([call]) }), null],
    ['no tool calls', body({ messages: asking([]) }), null],
    [
      'a tool call without function',
      body({ messages: asking([{ id: 'c', type: 'function' }]) }),
      'messages[1].tool_calls[0].function',
    ],
    [
      'a tool call with function null',
      body({ messages: asking([{ ...call, function: null }]) }),
      'messages[1].tool_calls[0].function',
    ],
    [
      'a tool call function without name',
      body({ messages: asking([{ ...call, function: { arguments: '{}' } }]) }),
      'messages[1].tool_calls[0].function.name',
    ],
    [
      'a tool call with object arguments',
      body({ messages: asking([{ ...call, function: { name: 'f', arguments: {} } }]) }),
      'messages[1].tool_calls[0].function.arguments',
    ],
    [
      'a tool call without id',
      body({ messages: asking([{ ...call, id: undefined }]) }),
      'messages[1].tool_calls[0].id',
    ],
    [
      'a tool call of another type',
      body({ messages: asking([{ ...call, type: 'x' }]) }),
      'messages[1].tool_calls[0].type',
    ],
    ['a tool call that is null', body({ messages: asking([null]) }), 'messages[1].tool_calls'],
    ['a tool call that is a string', body({ messages: asking(['call']) }), 'messages[1].tool_calls'],
    ['tool_calls that is an object', body({ messages: asking({}) }), 'messages[1].tool_calls'],
    ['a message that is null', body({ messages: [null] }), 'messages[0]'],
    ['a tool without function', body({ tools: [{ type: 'function' }] }), 'tools[0].function'],
  ])('should judge %s', async (_title, raw, param) => {
    expect(await refusedParam(raw)).toBe(param);
  });
});
