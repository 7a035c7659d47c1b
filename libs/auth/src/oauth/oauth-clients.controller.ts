import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { UuidPipe } from '@xrouter/common';
import { Authenticated } from '../auth.decorators';
import { CreateOAuthClientDto, OAuthClientDto } from './oauth-client.dto';
import { OAuthClientsService } from './oauth-clients.service';

@ApiTags('Admin')
@Authenticated({ scopes: ['admin'] })
@Controller('admin/oauth-clients')
export class OAuthClientsController {
  constructor(private readonly clients: OAuthClientsService) {}

  @Post()
  @ApiOperation({ summary: 'Register a public OAuth client (Authorization Code + PKCE S256)' })
  @ApiCreatedResponse({ type: OAuthClientDto })
  async create(@Body() body: CreateOAuthClientDto): Promise<OAuthClientDto> {
    return OAuthClientDto.from(await this.clients.create(body));
  }

  @Get()
  @ApiOperation({ summary: 'Every registered OAuth client' })
  @ApiOkResponse({ type: [OAuthClientDto] })
  async list(): Promise<OAuthClientDto[]> {
    return (await this.clients.list()).map((client) => OAuthClientDto.from(client));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an OAuth client and revoke every token issued to it' })
  @ApiNoContentResponse({ description: 'Deleted; its tokens stop working on every replica at once' })
  @ApiNotFoundResponse({ description: 'No such client' })
  async delete(@Param('id', new UuidPipe()) id: string): Promise<void> {
    await this.clients.delete(id);
  }
}
