import { describeErrorCode } from './error-code';
import { GatewayError } from './gateway.error';

/** OpenAI's error envelope, the only error shape clients ever receive. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export function toOpenAiErrorBody(error: GatewayError): OpenAiErrorBody {
  return {
    error: {
      message: error.message,
      type: describeErrorCode(error.code).type,
      param: error.param,
      code: error.code,
    },
  };
}
