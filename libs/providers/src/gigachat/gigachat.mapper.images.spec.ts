import { ErrorCode, GatewayError, type ChatCompletionRequest } from '@xrouter/common';
import { toGigaChatRequest } from './gigachat.mapper';

const PNG_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const request: ChatCompletionRequest = {
  model: 'giga',
  messages: [
    { role: 'system', content: 'Describe images.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is here?' },
        { type: 'image_url', image_url: { url: PNG_URL } },
      ],
    },
    { role: 'assistant', content: 'A pixel.' },
    { role: 'user', content: [{ type: 'text', text: 'And its colour?' }] },
  ],
};

describe('toGigaChatRequest with images', () => {
  it('should send the text beside the image and the upload id in attachments of that message only', () => {
    const body = toGigaChatRequest(request, 'GigaChat-2-Max', false, new Map([[1, ['file-1']]]));
    expect(body.messages).toEqual([
      { role: 'system', content: 'Describe images.' },
      { role: 'user', content: 'What is here?', attachments: ['file-1'] },
      { role: 'assistant', content: 'A pixel.' },
      { role: 'user', content: 'And its colour?' },
    ]);
  });

  it('should refuse an image part whose upload id is missing, never drop it', () => {
    let error: unknown;
    try {
      toGigaChatRequest(request, 'GigaChat-2-Max', false);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe(ErrorCode.BAD_REQUEST);
    expect((error as GatewayError).param).toBe('messages[1].content[1]');
  });
});
