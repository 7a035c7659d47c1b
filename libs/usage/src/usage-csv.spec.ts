import { csvField, usageCsv } from './usage-csv';
import type { UsageReportRow } from './usage-report-row';

describe('csvField', () => {
  it.each<[string | number | null, string]>([
    ['GigaChat-2', 'GigaChat-2'],
    [null, ''],
    [42, '42'],
    [-3, '-3'],
    [0.5, '0.5'],
    ['0.000000000', '0.000000000'],
    ['with,comma', '"with,comma"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=1+2', "'=1+2"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tlead', "'\tlead"],
    ['\rlead', '"\'\rlead"'],
    ['=HYPERLINK("https://evil.example","click")', '"\'=HYPERLINK(""https://evil.example"",""click"")"'],
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ['a=b', 'a=b'],
    ["'quoted", "'quoted"],
  ])('%j → %s', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

describe('usageCsv', () => {
  const row = (group: string | null): UsageReportRow => ({
    group,
    requests: 1,
    errors: 0,
    promptTokens: 2,
    completionTokens: 3,
    totalTokens: 5,
    costRub: '0.001000000',
    latencyP50Ms: 10,
    latencyP95Ms: 20,
    latencyP99Ms: 30,
  });

  it('should write a header and one CRLF line per row, formula cells neutralised', () => {
    expect(usageCsv([row('-2+3'), row(null)])).toBe(
      'group,requests,errors,promptTokens,completionTokens,totalTokens,costRub,latencyP50Ms,latencyP95Ms,latencyP99Ms\r\n' +
        "'-2+3,1,0,2,3,5,0.001000000,10,20,30\r\n" +
        ',1,0,2,3,5,0.001000000,10,20,30\r\n',
    );
  });
});
