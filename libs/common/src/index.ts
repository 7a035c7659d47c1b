export * from './errors/error-code';
export * from './errors/gateway.error';
export * from './errors/openai-error-body';
export * from './errors/openai-exception.filter';
export * from './errors/to-gateway-error';
export * from './http/validation.pipe';
export * from './logging/logger.options';
export * from './openai/openai.types';
