export * from './candidate-order';
export * from './deadline';
export * from './model-catalog';
export * from './routing.constants';
export * from './routing.module';
export * from './routing.service';
