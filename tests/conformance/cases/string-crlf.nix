# A file with CRLF line endings: in a double-quoted string a literal CR LF
# (or a lone CR) reads as LF while an escaped CR stays; indented strings keep
# their CRs, and a CR ends a line's indentation (nothing is stripped).
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.CrLf = {
      quoted = "one
two";
      loneCr = "ab";
      escapedCr = "a\
b";
      "quoted
key" = "in an attribute name too";
      indented = ''
        one
        two
      '';
    };
  };
}
