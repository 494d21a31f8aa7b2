# Escapes in indented strings and the indentation rules around them (Nix
# 2.8's stripIndentation): an escape ends a line's indentation when the
# smallest indentation is measured, but is plain text when it is stripped, so
# the spaces after a `''\n` are stripped as a new line's indentation while a
# `''\ ` keeps its space; `''$`, `'''` and a lone `$` count as text too.
let
  x = "X";
in
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.IndentedEscapes = {
      newlineThenIndent = ''
        a
          ''\n    b
      '';
      newlineAtLineStart = ''
          a
        ''\n    b
      '';
      escapedSpaceAtLineStart = ''
          a
        ''\ b
      '';
      escapedSpaceAfterText = ''
        a ''\   
        b
      '';
      escapedTab = ''
        ''\t  x
        y
      '';
      escapedNewlineChar = ''
        a
        ''\
        b
      '';
      lastLineEscape = ''
        a
        ''\n  '';
      lastLineEscapedSpace = ''
        a
        ''\ '';
      dollarAtLineStart = ''
          a
        ''$b ''${x}
      '';
      quotesAtLineStart = ''
          a
        '''b
      '';
      loneDollar = ''
          a
        $'';
      quoteDollar = ''
        a
        x'$y $$ $${x} ${x}$$ '${x}
      '';
      escapes = ''
        ''\r''\n''\t''\a''\\''\'
      '';
      interpolationAtLineStart = ''
        ${x}
          b
      '';
      interpolationIndented = ''
            ${x} a
          b
      '';
      interpolatedNewline = ''
        a ${"\n  x"}
        b
      '';
      firstLineText = ''  a
        b
      '';
      firstLineInterpolation = ''${x}
        a
      '';
    };
  };
}
