# Escapes in double-quoted strings: `\$` and `$${` keep a literal `${`, an
# escaped character other than n, r, t stands for itself, and non-ASCII text
# passes through.
let
  x = "X";
in
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.StringEscapes = {
      escapedDollar = "a\${x}b";
      doubleDollar = "$${x}";
      dollarBackslash = "$\{x}";
      lone = "$ $$ $${";
      trailingDollar = "a$";
      backslashThenInterpolation = "\\${x}";
      controls = "a\rb\tc\nd";
      others = "\a\b\z\0\"\'";
      unicode = "é😀\u00e9";
      multiLine = "line1
  line2";
    };
  };
}
