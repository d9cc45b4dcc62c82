#include "viz/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_format.h"

namespace sniper::viz {
namespace {

// 3x5 glyphs, five rows of three bits each, top row first; lower-case
// letters are four rows high (rows 1-4), with ascenders in row 0 and the
// tails of g, j, p, q, y squeezed in.
const char* LowerGlyph(char c) {
  switch (c) {
    case 'a':
      return "000110011101011";
    case 'b':
      return "100100110101110";
    case 'c':
      return "000011100100011";
    case 'd':
      return "001001011101011";
    case 'e':
      return "000010111100011";
    case 'f':
      return "011010111010010";
    case 'g':
      return "000011101011110";
    case 'h':
      return "100100110101101";
    case 'i':
      return "010000010010010";
    case 'j':
      return "001000001101010";
    case 'k':
      return "100101110110101";
    case 'l':
      return "110010010010111";
    case 'm':
      return "000110111101101";
    case 'n':
      return "000110101101101";
    case 'o':
      return "000010101101010";
    case 'p':
      return "000110101110100";
    case 'q':
      return "000011101011001";
    case 'r':
      return "000011100100100";
    case 's':
      return "000011100001110";
    case 't':
      return "010111010010011";
    case 'u':
      return "000101101101011";
    case 'v':
      return "000101101101010";
    case 'w':
      return "000101101111101";
    case 'x':
      return "000101010010101";
    case 'y':
      return "000101011001110";
    case 'z':
      return "000111011110111";
    default:
      return nullptr;
  }
}

const char* Glyph(char c) {
  if (const char* g = LowerGlyph(c); g != nullptr) return g;
  switch (c) {
    case '0':
      return "111101101101111";
    case '1':
      return "010110010010111";
    case '2':
      return "111001111100111";
    case '3':
      return "111001111001111";
    case '4':
      return "101101111001001";
    case '5':
      return "111100111001111";
    case '6':
      return "111100111101111";
    case '7':
      return "111001001001001";
    case '8':
      return "111101111101111";
    case '9':
      return "111101111001111";
    case 'A':
      return "010101111101101";
    case 'B':
      return "110101110101110";
    case 'C':
      return "011100100100011";
    case 'D':
      return "110101101101110";
    case 'E':
      return "111100110100111";
    case 'F':
      return "111100110100100";
    case 'G':
      return "011100101101011";
    case 'H':
      return "101101111101101";
    case 'I':
      return "111010010010111";
    case 'J':
      return "001001001101010";
    case 'K':
      return "101101110101101";
    case 'L':
      return "100100100100111";
    case 'M':
      return "101111111101101";
    case 'N':
      return "110101101101101";
    case 'O':
      return "010101101101010";
    case 'P':
      return "110101110100100";
    case 'Q':
      return "010101101110011";
    case 'R':
      return "110101110101101";
    case 'S':
      return "011100010001110";
    case 'T':
      return "111010010010010";
    case 'U':
      return "101101101101111";
    case 'V':
      return "101101101101010";
    case 'W':
      return "101101111111101";
    case 'X':
      return "101101010101101";
    case 'Y':
      return "101101010010010";
    case 'Z':
      return "111001010100111";
    case '.':
      return "000000000000010";
    case ',':
      return "000000000010100";
    case '-':
      return "000000111000000";
    case '+':
      return "000010111010000";
    case ':':
      return "000010000010000";
    case '/':
      return "001001010100100";
    case '=':
      return "000111000111000";
    case '_':
      return "000000000000111";
    case '(':
      return "001010010010001";
    case ')':
      return "100010010010100";
    case '%':
      return "101001010100101";
    case '[':
      return "011010010010011";
    case ']':
      return "110010010010110";
    case '!':
      return "010010010000010";
    case '?':
      return "111001010000010";
    case '\'':
      return "010010000000000";
    case '"':
      return "101101000000000";
    case '*':
      return "000101010101000";
    case '#':
      return "101111101111101";
    case '<':
      return "001010100010001";
    case '>':
      return "100010001010100";
    case '\\':
      return "100100010001001";
    case ';':
      return "000010000010100";
    default:
      return "000000000000000";  // space and anything else
  }
}

void Put(data::RgbImage* image, int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= image->width || y >= image->height) return;
  uint8_t* p = image->at(x, y);
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

}  // namespace

data::RgbImage Blank(int width, int height, Color fill) {
  data::RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = fill[0];
    image.pixels[i + 1] = fill[1];
    image.pixels[i + 2] = fill[2];
  }
  return image;
}

Color PaletteColor(int i) {
  static constexpr Color kPalette[] = {
      {31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
      {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
      {188, 189, 34},  {23, 190, 207}};
  return kPalette[static_cast<size_t>(std::abs(i)) % 10];
}

void FillRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color) {
  x1 = std::max(x1, 0);
  y1 = std::max(y1, 0);
  x2 = std::min(x2, image->width);
  y2 = std::min(y2, image->height);
  for (int y = y1; y < y2; ++y) {
    for (int x = x1; x < x2; ++x) Put(image, x, y, color);
  }
}

void DrawLine(data::RgbImage* image, int x0, int y0, int x1, int y1,
              Color color) {
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (int guard = 0; guard < 1 << 20; ++guard) {
    Put(image, x0, y0, color);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

void DrawRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color, int thickness) {
  for (int t = 0; t < thickness; ++t) {
    FillRect(image, x1 - t, y1 - t, x2 + t + 1, y1 - t + 1, color);
    FillRect(image, x1 - t, y2 + t, x2 + t + 1, y2 + t + 1, color);
    FillRect(image, x1 - t, y1 - t, x1 - t + 1, y2 + t + 1, color);
    FillRect(image, x2 + t, y1 - t, x2 + t + 1, y2 + t + 1, color);
  }
}

int TextWidth(absl::string_view text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * 4 * scale - scale;
}

int DrawText(data::RgbImage* image, int x, int y, absl::string_view text,
             Color color, int scale) {
  int cx = x;
  for (char c : text) {
    const char* g = Glyph(c);
    for (int r = 0; r < 5; ++r) {
      for (int k = 0; k < 3; ++k) {
        if (g[r * 3 + k] == '1') {
          FillRect(image, cx + k * scale, y + r * scale, cx + (k + 1) * scale,
                   y + (r + 1) * scale, color);
        }
      }
    }
    cx += 4 * scale;
  }
  return TextWidth(text, scale);
}

void DrawLabel(data::RgbImage* image, int x, int y, absl::string_view text,
               Color background, Color foreground, int scale) {
  FillRect(image, x, y, x + TextWidth(text, scale) + 2 * scale, y + 7 * scale,
           background);
  DrawText(image, x + scale, y + scale, text, foreground, scale);
}

int BlendMask(data::RgbImage* image, const std::vector<uint8_t>& mask,
              Color color, float alpha) {
  const size_t n = static_cast<size_t>(image->width) * image->height;
  if (mask.size() != n) return 0;
  const float a = std::clamp(alpha, 0.0f, 1.0f);
  int tinted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (mask[i] == 0) continue;
    uint8_t* px = image->pixels.data() + 3 * i;
    for (int c = 0; c < 3; ++c) {
      px[c] = static_cast<uint8_t>(std::lround((1 - a) * px[c] + a * color[c]));
    }
    ++tinted;
  }
  return tinted;
}

int DrawLabeledBoxes(data::RgbImage* image,
                     const std::vector<LabeledBox>& boxes,
                     const std::vector<std::string>& names, float threshold) {
  std::vector<const LabeledBox*> order;
  for (const LabeledBox& b : boxes) {
    if (b.score >= threshold) order.push_back(&b);
  }
  // Lowest score first, so the best box and label end up on top.
  std::stable_sort(order.begin(), order.end(),
                   [](const LabeledBox* a, const LabeledBox* b) {
                     return a->score < b->score;
                   });
  for (const LabeledBox* b : order) {
    const Color color = PaletteColor(b->label);
    DrawRect(image, static_cast<int>(b->x1), static_cast<int>(b->y1),
             static_cast<int>(b->x2), static_cast<int>(b->y2), color, 3);
    const std::string name =
        b->label >= 0 && b->label < static_cast<int>(names.size())
            ? names[b->label]
            : absl::StrFormat("%d", b->label);
    DrawLabel(image, static_cast<int>(b->x1) - 2,
              std::max(0, static_cast<int>(b->y1) - 18),
              absl::StrFormat("%s %.2f", name, b->score), color,
              {255, 255, 255}, 2);
  }
  return static_cast<int>(order.size());
}

}  // namespace sniper::viz
