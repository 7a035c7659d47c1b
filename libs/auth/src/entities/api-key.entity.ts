import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { UserEntity } from './user.entity';

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'user_id' }) userId!: string;
  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'user_id' }) user?: UserEntity;
  /** The key that made this one (for its own user); this key dies with it and shares its budget. */
  @Column('uuid', { name: 'parent_key_id', nullable: true }) parentKeyId!: string | null;
  /** The OAuth access token that made this one; this key dies with it (or its grant) and never outlives it. */
  @Column('uuid', { name: 'parent_token_id', nullable: true }) parentTokenId!: string | null;
  @Column('text') name!: string;
  @Column('text') prefix!: string;
  @Column('char', { name: 'secret_hash', length: 64, select: false }) secretHash!: string;
  @Column('text', { array: true, default: '{}' }) scopes!: string[];
  @Column('text', { name: 'allowed_models', array: true, nullable: true }) allowedModels!: string[] | null;
  @Column('int', { name: 'rpm_limit', nullable: true }) rpmLimit!: number | null;
  @Column('int', { name: 'tpm_limit', nullable: true }) tpmLimit!: number | null;
  @Column('timestamptz', { name: 'expires_at', nullable: true }) expiresAt!: Date | null;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
  @Column('timestamptz', { name: 'last_used_at', nullable: true }) lastUsedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('bigint', { name: 'monthly_token_budget', nullable: true }) monthlyTokenBudget!: string | null;
  /** Whether identical non-streamed requests of this key are answered from the answer cache. */
  @Column('boolean', { name: 'answer_cache', default: false }) answerCache!: boolean;
  @Column('numeric', { name: 'monthly_budget_rub', nullable: true, precision: 20, scale: 9 }) monthlyBudgetRub!:
    string | null;
}
