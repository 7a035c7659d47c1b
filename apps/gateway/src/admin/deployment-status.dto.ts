import { ApiProperty } from '@nestjs/swagger';
import type { DeploymentStatus } from '@xrouter/routing';

class BreakerStatusDto {
  @ApiProperty({ enum: ['closed', 'open', 'half-open'], example: 'closed' }) state!: 'closed' | 'open' | 'half-open';
  @ApiProperty({ example: 0, description: 'Failures counted in the current window' }) failures!: number;
  @ApiProperty({ nullable: true, type: String, example: null, description: 'When the circuit opened' }) openedAt!:
    string | null;
}

class CredentialsRejectedDto {
  @ApiProperty({ example: '2026-12-01T10:00:00.000Z', description: 'Since when the upstream refuses them' })
  since!: string;
  @ApiProperty({ example: "gigachat rejected the gateway's credentials" }) message!: string;
}

export class DeploymentStatusDto implements DeploymentStatus {
  @ApiProperty({ example: 'gigachat/main/GigaChat-2-Max' }) key!: string;
  @ApiProperty({ example: 'gigachat' }) provider!: string;
  @ApiProperty({ example: 'gigachat', enum: ['openai', 'gigachat', 'yandex'] }) type!: string;
  @ApiProperty({ example: 'main' }) account!: string;
  @ApiProperty({ example: 'GigaChat-2-Max', description: 'The model id at the upstream' }) model!: string;
  @ApiProperty({ example: false, description: 'Served by the bundled emulator' }) emulated!: boolean;
  @ApiProperty({ type: BreakerStatusDto }) breaker!: BreakerStatusDto;
  @ApiProperty({ nullable: true, type: Number, example: 412, description: 'EWMA latency (first token for streams)' })
  latencyMs!: number | null;
  @ApiProperty({
    type: CredentialsRejectedDto,
    nullable: true,
    description: "Set while the upstream refuses this account's credentials (401/403): traffic goes elsewhere",
  })
  credentialsRejected!: CredentialsRejectedDto | null;
}
