import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UuidPipe } from '@xrouter/common';
import { Authenticated } from '../auth.decorators';
import { BudgetDto } from '../budget.dto';
import { CreateUserDto, UserDto } from './user.dto';
import { UsersService } from './users.service';

@ApiTags('Admin: users')
@Authenticated({ scopes: ['admin'] })
@Controller('admin/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user (role admin or user; a password enables the OAuth login page)' })
  @ApiCreatedResponse({ type: UserDto })
  create(@Body() dto: CreateUserDto): Promise<UserDto> {
    return this.users.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List users' })
  @ApiOkResponse({ type: [UserDto] })
  list(): Promise<UserDto[]> {
    return this.users.list();
  }

  @Get(':id')
  @ApiOkResponse({ type: UserDto })
  get(@Param('id', new UuidPipe()) id: string): Promise<UserDto> {
    return this.users.get(id);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable a user: every key and token of theirs stops working on every replica' })
  @ApiOkResponse({ type: UserDto })
  disable(@Param('id', new UuidPipe()) id: string): Promise<UserDto> {
    return this.users.setDisabled(id, true);
  }

  @Put(':id/budget')
  @ApiOperation({ summary: "Set or clear the user's monthly budget (tokens and/or RUB), for all their keys" })
  @ApiOkResponse({ type: UserDto })
  setBudget(@Param('id', new UuidPipe()) id: string, @Body() budget: BudgetDto): Promise<UserDto> {
    return this.users.setBudget(id, budget);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOkResponse({ type: UserDto })
  enable(@Param('id', new UuidPipe()) id: string): Promise<UserDto> {
    return this.users.setDisabled(id, false);
  }
}
