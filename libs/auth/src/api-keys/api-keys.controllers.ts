import { Body, Controller, Delete, Get, Param, Post, Put, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '@xrouter/common';
import { Authenticated, CurrentPrincipal } from '../auth.decorators';
import { BudgetDto } from '../budget.dto';
import type { Principal } from '../principal';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('Admin: API keys')
@Authenticated({ scopes: ['admin'] })
@Controller('admin/api-keys')
export class AdminApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a key for a user (user_id), shown once' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  create(@CurrentPrincipal() actor: Principal, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.create(actor, dto);
  }

  @Get()
  @ApiQuery({ name: 'user_id', required: false })
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(
    @CurrentPrincipal() actor: Principal,
    @Query('user_id', new UuidPipe({ optional: true })) userId?: string,
  ): Promise<ApiKeyDto[]> {
    return this.keys.list(actor, 'admin', userId);
  }

  @Get(':id')
  @ApiOkResponse({ type: ApiKeyDto })
  get(@CurrentPrincipal() actor: Principal, @Param('id', new UuidPipe()) id: string): Promise<ApiKeyDto> {
    return this.keys.get(actor, 'admin', id);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a key: refused on every replica within a second' })
  @ApiOkResponse({ type: ApiKeyDto })
  revoke(@CurrentPrincipal() actor: Principal, @Param('id', new UuidPipe()) id: string): Promise<ApiKeyDto> {
    return this.keys.revoke(actor, 'admin', id);
  }

  @Put(':id/budget')
  @ApiOperation({ summary: "Set or clear the key's monthly budget (tokens and/or RUB)" })
  @ApiOkResponse({ type: ApiKeyDto })
  setBudget(
    @CurrentPrincipal() actor: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Body() budget: BudgetDto,
  ): Promise<ApiKeyDto> {
    return this.keys.setBudget(actor, id, budget);
  }

  @Post(':id/rotate')
  @ApiOperation({ summary: 'Issue a new secret with the same settings and revoke the old one' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  rotate(@CurrentPrincipal() actor: Principal, @Param('id', new UuidPipe()) id: string): Promise<CreatedApiKeyDto> {
    return this.keys.rotate(actor, 'admin', id);
  }
}

/** The caller's own keys (scope `keys`). Never more than the calling credential may do. */
@ApiTags('Account')
@Authenticated({ scopes: ['keys'] })
@Controller('account/api-keys')
export class AccountApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a key for yourself, shown once' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  create(@CurrentPrincipal() actor: Principal, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.create(actor, { ...dto, user_id: actor.userId });
  }

  @Get()
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(@CurrentPrincipal() actor: Principal): Promise<ApiKeyDto[]> {
    return this.keys.list(actor, 'account');
  }

  @Get(':id')
  @ApiOkResponse({ type: ApiKeyDto })
  get(@CurrentPrincipal() actor: Principal, @Param('id', new UuidPipe()) id: string): Promise<ApiKeyDto> {
    return this.keys.get(actor, 'account', id);
  }

  @Delete(':id')
  @ApiOkResponse({ type: ApiKeyDto })
  revoke(@CurrentPrincipal() actor: Principal, @Param('id', new UuidPipe()) id: string): Promise<ApiKeyDto> {
    return this.keys.revoke(actor, 'account', id);
  }

  @Post(':id/rotate')
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  rotate(@CurrentPrincipal() actor: Principal, @Param('id', new UuidPipe()) id: string): Promise<CreatedApiKeyDto> {
    return this.keys.rotate(actor, 'account', id);
  }
}
