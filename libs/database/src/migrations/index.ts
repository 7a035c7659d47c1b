import { InitialSchema1732406400000 } from './1732406400000-initial-schema';
import { RequestLogs1732492800000 } from './1732492800000-request-logs';
import { Oauth1732579200000 } from './1732579200000-oauth';
import { Budgets1732665600000 } from './1732665600000-budgets';
import { CredentialChains1732752000000 } from './1732752000000-credential-chains';
import { Responses1733000000000 } from './1733000000000-responses';
import { AnswerCache1733100000000 } from './1733100000000-answer-cache';
import { EndUser1733200000000 } from './1733200000000-end-user';

/** Every migration, oldest first. Listed explicitly so the build, the CLI and tests agree without globbing. */
export const MIGRATIONS = [
  InitialSchema1732406400000,
  RequestLogs1732492800000,
  Oauth1732579200000,
  Budgets1732665600000,
  CredentialChains1732752000000,
  Responses1733000000000,
  AnswerCache1733100000000,
  EndUser1733200000000,
];
