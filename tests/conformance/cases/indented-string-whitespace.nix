# Whitespace in indented strings: only spaces are indentation (tabs are text),
# lines of only spaces do not count towards the smallest indentation and keep
# what is left of them, a closing line of only spaces is dropped, and a string
# ending in text keeps its last line.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.IndentedWhitespace = {
      tabs = ''
      	a
      	b
      '';
      tabAfterSpaces = ''
        	 a
        b
      '';
      shortBlankLine = ''
        a
       
        b
      '';
      longBlankLine = ''
        a
            
        b
      '';
      emptyLines = ''


        a
      '';
      tabLine = ''
        a
      	
        b
      '';
      noFinalNewline = ''
        a
        b'';
      closingIndentedDeeper = ''
        a
          '';
      closingLessIndented = ''
          a
        b
       '';
      firstLineSpaces = ''   
        a
      '';
      empty = '''';
      onlyNewline = ''
      '';
      unicode = ''
        é ü 😀
      '';
      nbspIsNotIndentation = ''
         a
        b
      '';
    };
  };
}
