import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsString,
  Length,
  Matches,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';
import { HasNoNul } from '@xrouter/common';
import type { OAuthClientEntity } from './oauth-client.entity';
import { isRegistrableRedirectUri } from './oauth-policy';

/** https anywhere, http on loopback only, or a private-use scheme (RFC 8252); never a fragment. */
function IsRedirectUri(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRedirectUri',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isRegistrableRedirectUri(value),
        defaultMessage: () =>
          'each value in redirect_uris must be an absolute https URI, http on loopback, or a private-use scheme, without a fragment',
      },
    },
    options,
  );
}

export class CreateOAuthClientDto {
  @ApiProperty({ example: 'Acme Chat', description: 'Shown to users on the consent page', maxLength: 100 })
  @IsString()
  @HasNoNul()
  @Length(1, 100)
  name!: string;

  @ApiProperty({
    example: ['https://chat.acme.example/oauth/callback', 'http://127.0.0.1:8765/callback'],
    description:
      'Exact redirect URIs (compared character for character): https, http on loopback for native apps, or a ' +
      'private-use scheme such as com.acme.chat:/callback',
    type: [String],
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(10)
  @HasNoNul({ each: true })
  @IsRedirectUri({ each: true })
  redirect_uris!: string[];

  @ApiProperty({
    example: ['chat', 'embeddings'],
    description: 'The most a token issued to this client may do (`chat`, `embeddings`)',
    type: [String],
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @Matches(/^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/, { each: true, message: 'each value in scopes must be a scope token' })
  scopes!: string[];
}

export class OAuthClientDto {
  @ApiProperty({ example: '5f0c6a2e-8f7d-4a53-9d38-2f1b1c0e9a11', description: 'The public client_id' })
  client_id!: string;
  @ApiProperty({ example: 'Acme Chat' }) name!: string;
  @ApiProperty({ example: ['https://chat.acme.example/oauth/callback'], type: [String] }) redirect_uris!: string[];
  @ApiProperty({ example: ['chat'], type: [String] }) scopes!: string[];
  @ApiProperty({ example: 'none', enum: ['none'], description: 'Public client: PKCE, no secret' })
  token_endpoint_auth_method!: 'none';
  @ApiProperty({ example: '2025-01-01T12:00:00.000Z' }) created_at!: string;

  static from(client: OAuthClientEntity): OAuthClientDto {
    return {
      client_id: client.id,
      name: client.name,
      redirect_uris: client.redirectUris,
      scopes: client.scopes,
      token_endpoint_auth_method: 'none',
      created_at: client.createdAt.toISOString(),
    };
  }
}
