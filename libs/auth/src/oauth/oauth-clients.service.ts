import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Repository } from 'typeorm';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { OAUTH_SCOPES } from '../authority';
import { OAuthClientEntity } from './oauth-client.entity';
import type { CreateOAuthClientDto } from './oauth-client.dto';
import { OAuthTokenService } from './oauth-tokens.service';

/** Registration of OAuth clients by admins. Deleting a client revokes every token it holds. */
@Injectable()
export class OAuthClientsService {
  constructor(
    @InjectRepository(OAuthClientEntity) private readonly clients: Repository<OAuthClientEntity>,
    private readonly tokens: OAuthTokenService,
    private readonly dataSource: DataSource,
  ) {}

  create(input: CreateOAuthClientDto): Promise<OAuthClientEntity> {
    const outside = input.scopes.filter((scope) => !(OAUTH_SCOPES as readonly string[]).includes(scope));
    if (outside.length > 0) {
      throw new GatewayError(
        ErrorCode.BAD_REQUEST,
        `An OAuth client may be registered only for ${OAUTH_SCOPES.join(', ')} (not ${outside.join(', ')}): ` +
          'OAuth tokens never carry admin power.',
        { param: 'scopes' },
      );
    }
    return this.clients.save(
      this.clients.create({
        name: input.name,
        redirectUris: [...new Set(input.redirect_uris)],
        scopes: [...new Set(input.scopes)],
        deletedAt: null,
      }),
    );
  }

  list(): Promise<OAuthClientEntity[]> {
    return this.clients.find({ where: { deletedAt: IsNull() }, order: { createdAt: 'ASC' } });
  }

  async delete(id: string): Promise<void> {
    await this.tokens.assertCanAnnounce();
    const revoked = await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(OAuthClientEntity, { id, deletedAt: IsNull() }, { deletedAt: () => 'now()' });
      if (!result.affected) throw new GatewayError(ErrorCode.NOT_FOUND, `No OAuth client '${id}'.`, { param: 'id' });
      return this.tokens.revokeClient(id, tx);
    });
    await this.tokens.announce(revoked);
  }
}
