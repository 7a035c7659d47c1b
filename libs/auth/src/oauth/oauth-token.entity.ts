import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { UserEntity } from '../entities/user.entity';
import { OAuthClientEntity } from './oauth-client.entity';

export type OAuthTokenKind = 'access' | 'refresh';

/**
 * An access or refresh token, stored only as the SHA-256 of its secret. Every token of one authorization grant
 * shares a `familyId`: refresh rotation keeps the family, and reuse of a rotated refresh token revokes it whole.
 */
@Entity('oauth_tokens')
export class OAuthTokenEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('char', { name: 'token_hash', length: 64, select: false }) tokenHash!: string;
  @Column('text') kind!: OAuthTokenKind;
  @Column('uuid', { name: 'family_id' }) familyId!: string;
  @Column('uuid', { name: 'client_id' }) clientId!: string;
  @ManyToOne(() => OAuthClientEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_id' })
  client?: OAuthClientEntity;
  @Column('uuid', { name: 'user_id' }) userId!: string;
  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'user_id' }) user?: UserEntity;
  /** What the user granted (already within the client's scopes at the time). */
  @Column('text', { array: true, default: '{}' }) scopes!: string[];
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
  /** Set when a refresh token is exchanged; presenting it again is reuse. */
  @Column('timestamptz', { name: 'used_at', nullable: true }) usedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
