# Floats as Nix 2.8 prints them in JSON (six significant digits, exponent
# forms, integer digits where they fit), negative zero (`-x` is `0 - x`, so
# `-0.0` is a positive zero while a product can be -0), the float syntax, the
# range boundaries Nix still accepts, and 64-bit integers.
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = "chat.example.com";
    settings.Floats = {
      negatedZero = -0.0;
      negatedZeroInList = [ (-0.0) 0.0 ];
      negativeProduct = 0.0 * -1;
      negatedNegative = -(0.0 * -1);
      negatedIntZero = -0;
      differenceOfZeros = -0.0 - 0.0;
      sevenMinusSeven = 7 - 7.0;
      rounded = 123456.7;
      sevenDigits = 1234567.0;
      small = 0.000123456789;
      tiny = 0.00001;
      tieEven = 1234565.0;
      tieOdd = 1234575.0;
      belowTie = 99999.95;
      roundsUp = 999999.5;
      exp21 = 1.0e21;
      exp100 = 1.0e100;
      exp300 = 1.5e300;
      exp15 = 1.0e15;
      negativeExponent = 1.5e-7;
      largestNormal = 1.7976931348623157e308;
      roundsToLargest = 1.7976931348623158e308;
      smallestNormal = 2.2250738585072014e-308;
      roundsToSmallest = 2.2250738585072013e-308;
      nearSmallest = 1.0e-307;
      third = 1.0 / 3;
      sum = 0.1 + 0.2;
      whole = 2.0;
      hundredThousand = 100000.0;
      leadingDot = .5;
      trailingDot = 1.;
      upperExponent = 1.5E5;
      signedExponent = 1.5e+5;
      paddedExponent = 1.5e05;
      zeroExponent = 0.0e-400;
      intDivision = 7 / 2;
      mixedDivision = 7 / 2.0;
      maxInt = 9223372036854775807;
      minInt = -9223372036854775807 - 1;
      bigNegative = -4611686018427387904;
      equalZeros = (-0.0) == 0.0;
    };
  };
}
