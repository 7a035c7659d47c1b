import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * Swagger documentation of the form bodies. The values are read by OAuthParams, which answers malformed input with
 * RFC 6749 errors, so no class-validator rules here (they would answer in the gateway's OpenAI envelope).
 */
export class TokenRequestDto {
  @ApiProperty({ enum: ['authorization_code', 'refresh_token'], example: 'authorization_code' })
  grant_type!: string;
  @ApiProperty({ example: '5f0c6a2e-8f7d-4a53-9d38-2f1b1c0e9a11' }) client_id!: string;
  @ApiPropertyOptional({ description: 'authorization_code grant', example: 'Qm9vbS4uLg' }) code?: string;
  @ApiPropertyOptional({ description: 'authorization_code grant', example: 'https://chat.acme.example/callback' })
  redirect_uri?: string;
  @ApiPropertyOptional({
    description: 'authorization_code grant: the PKCE verifier',
    example: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  })
  code_verifier?: string;
  @ApiPropertyOptional({ description: 'refresh_token grant', example: 'xrr-…' }) refresh_token?: string;
  @ApiPropertyOptional({ description: 'refresh_token grant: keep or narrow the scopes', example: 'chat' })
  scope?: string;
}

export class RevokeRequestDto {
  @ApiProperty({ description: 'An access (xro-…) or refresh (xrr-…) token', example: 'xro-…' }) token!: string;
  @ApiPropertyOptional({ enum: ['access_token', 'refresh_token'] }) token_type_hint?: string;
  @ApiProperty({ example: '5f0c6a2e-8f7d-4a53-9d38-2f1b1c0e9a11' }) client_id!: string;
}

export class TokenResponseDto {
  @ApiProperty({ example: 'xro-3q2-7wR…' }) access_token!: string;
  @ApiProperty({ example: 'Bearer' }) token_type!: 'Bearer';
  @ApiProperty({ example: 31_536_000, description: 'Seconds' }) expires_in!: number;
  @ApiProperty({ example: 'xrr-Vb9…', description: 'Single use: each refresh returns a new one' })
  refresh_token!: string;
  @ApiProperty({ example: 'chat embeddings' }) scope!: string;
}

export class OAuthErrorDto {
  @ApiProperty({ example: 'invalid_grant' }) error!: string;
  @ApiProperty({ example: 'The authorization code is invalid or expired.' }) error_description!: string;
}
