import { describe, expect, it } from 'vitest';
import { checkRml } from './rml.js';

const check = (text: string) => checkRml(Buffer.from(text), 'assets/main.rml');
const codes = (text: string) => check(text).findings.map((found) => [found.code, found.line]);

describe('checkRml', () => {
  it('accepts documents, declarations, fragments with several roots and RmlUi entities', () => {
    expect(codes('<?xml version="1.0"?>\n<rml><head><title>A&nbsp;B &amp; &#8364;</title></head><body/></rml>')).toEqual([]);
    expect(codes('<template name="a"><p>x</p></template>\n<template name="b"/>')).toEqual([]);
    expect(codes('<rml><body><![CDATA[ <not markup> ]]><!-- <script> --></body></rml>')).toEqual([]);
  });

  it('reports markup that is not well-formed, with the line', () => {
    expect(codes('<rml>\n<body>\n<p>unclosed</body>\n</rml>')).toEqual([['rml_malformed', 3]]);
    expect(codes('<rml><body x=1></body></rml>')).toEqual([['rml_malformed', 1]]);
    expect(codes('<rml>&undefined;</rml>')).toEqual([['rml_malformed', 1]]);
    expect(codes('<a/><b/>'.replace('<a/>', '<?xml version="1.0"?><a/>'))).toEqual([['rml_malformed', 1]]);
  });

  it('treats <script> and <style> content as raw Lua and RCSS', () => {
    const text = '<rml>\n<head>\n<script>\nif a < b and c > d then end\n</script>\n<style>\nbody > p { color: red; }\n</style>\n</head>\n</rml>';
    const result = check(text);
    expect(result.findings).toEqual([]);
    expect(result.scripts).toHaveLength(1);
  });

  it('reports errors inside inline scripts and styles at their lines in the RML file', () => {
    const text = '<rml>\n<head>\n<script>\nlocal = 1\n</script>\n<style>\nbody { color red; }\n</style>\n</head>\n</rml>';
    expect(codes(text)).toEqual([
      ['lua_syntax_error', 4],
      ['rcss_syntax_error', 7],
    ]);
  });

  it('reports an unclosed <script>', () => {
    expect(codes('<rml>\n<script>\nlocal a = 1\n</rml>')).toEqual([['rml_malformed', 2]]);
  });

  it('parses on* event attributes as Lua and collects attribute values', () => {
    const result = check('<rml>\n<body>\n<button onclick="os.execute(&quot;x&quot;)" data-x="https://example.com">Go</button>\n</body>\n</rml>');
    expect(result.findings).toEqual([]);
    expect(result.scripts).toHaveLength(1);
    expect(result.literals).toContainEqual({ text: 'https://example.com', line: 3 });
  });

  it('refuses an event attribute that is not Lua, so no handler escapes the analysis', () => {
    expect(codes('<rml>\n<body>\n<p onclick="not lua ((">x</p>\n</body>\n</rml>')).toEqual([['lua_syntax_error', 3]]);
  });

  it('flags a script loaded from a URL, leaving package scripts alone', () => {
    expect(codes('<rml>\n<head>\n<script src="scripts/app.lua"></script>\n<script src="https://cdn.example.com/x.lua"></script>\n</head>\n</rml>')).toEqual([['lua_dynamic_code', 4]]);
  });

  it('refuses text that is not UTF-8', () => {
    expect(checkRml(Buffer.from([0x3c, 0x61, 0xff, 0x3e]), 'a.rml').findings[0]?.code).toBe('rml_malformed');
  });
});
