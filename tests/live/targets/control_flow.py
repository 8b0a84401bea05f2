"""Blocking in places where line numbers are easy to get wrong: an except block,
a finally block, a loop body after a backward jump, a list comprehension (its own
frame before 3.12, inlined since), a class body, a decorated function, and (main
thread) a call more than 300 lines below its def (multi-entry line tables).
"""
# SCENARIOS: except finally loop listcomp comprehension class_body decorator long_function
import functools
import time

import _common


def in_except():
    try:
        raise ValueError("x")
    except ValueError:
        time.sleep(1e6)  # BLOCK


def in_finally():
    try:
        pass
    finally:
        time.sleep(1e6)  # BLOCK


def in_loop():
    total = 0
    for i in range(5):
        total += i
        if i == 3:
            time.sleep(1e6)  # BLOCK
    return total


def slow(x):
    time.sleep(1e6)  # BLOCK
    return x


def in_listcomp():
    return [slow(x) for x in [1, 2]]


def in_class_body():
    class Defining:
        attribute = 1
        time.sleep(1e6)  # BLOCK
    return Defining


def traced(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@traced
def decorated():
    time.sleep(1e6)  # BLOCK


def far_away():
    x = 1
    # padding line 0: pushes the blocking call far below the def
    # padding line 1: pushes the blocking call far below the def
    # padding line 2: pushes the blocking call far below the def
    # padding line 3: pushes the blocking call far below the def
    # padding line 4: pushes the blocking call far below the def
    # padding line 5: pushes the blocking call far below the def
    # padding line 6: pushes the blocking call far below the def
    # padding line 7: pushes the blocking call far below the def
    # padding line 8: pushes the blocking call far below the def
    # padding line 9: pushes the blocking call far below the def
    # padding line 10: pushes the blocking call far below the def
    # padding line 11: pushes the blocking call far below the def
    # padding line 12: pushes the blocking call far below the def
    # padding line 13: pushes the blocking call far below the def
    # padding line 14: pushes the blocking call far below the def
    # padding line 15: pushes the blocking call far below the def
    # padding line 16: pushes the blocking call far below the def
    # padding line 17: pushes the blocking call far below the def
    # padding line 18: pushes the blocking call far below the def
    # padding line 19: pushes the blocking call far below the def
    # padding line 20: pushes the blocking call far below the def
    # padding line 21: pushes the blocking call far below the def
    # padding line 22: pushes the blocking call far below the def
    # padding line 23: pushes the blocking call far below the def
    # padding line 24: pushes the blocking call far below the def
    # padding line 25: pushes the blocking call far below the def
    # padding line 26: pushes the blocking call far below the def
    # padding line 27: pushes the blocking call far below the def
    # padding line 28: pushes the blocking call far below the def
    # padding line 29: pushes the blocking call far below the def
    # padding line 30: pushes the blocking call far below the def
    # padding line 31: pushes the blocking call far below the def
    # padding line 32: pushes the blocking call far below the def
    # padding line 33: pushes the blocking call far below the def
    # padding line 34: pushes the blocking call far below the def
    # padding line 35: pushes the blocking call far below the def
    # padding line 36: pushes the blocking call far below the def
    # padding line 37: pushes the blocking call far below the def
    # padding line 38: pushes the blocking call far below the def
    # padding line 39: pushes the blocking call far below the def
    # padding line 40: pushes the blocking call far below the def
    # padding line 41: pushes the blocking call far below the def
    # padding line 42: pushes the blocking call far below the def
    # padding line 43: pushes the blocking call far below the def
    # padding line 44: pushes the blocking call far below the def
    # padding line 45: pushes the blocking call far below the def
    # padding line 46: pushes the blocking call far below the def
    # padding line 47: pushes the blocking call far below the def
    # padding line 48: pushes the blocking call far below the def
    # padding line 49: pushes the blocking call far below the def
    # padding line 50: pushes the blocking call far below the def
    # padding line 51: pushes the blocking call far below the def
    # padding line 52: pushes the blocking call far below the def
    # padding line 53: pushes the blocking call far below the def
    # padding line 54: pushes the blocking call far below the def
    # padding line 55: pushes the blocking call far below the def
    # padding line 56: pushes the blocking call far below the def
    # padding line 57: pushes the blocking call far below the def
    # padding line 58: pushes the blocking call far below the def
    # padding line 59: pushes the blocking call far below the def
    # padding line 60: pushes the blocking call far below the def
    # padding line 61: pushes the blocking call far below the def
    # padding line 62: pushes the blocking call far below the def
    # padding line 63: pushes the blocking call far below the def
    # padding line 64: pushes the blocking call far below the def
    # padding line 65: pushes the blocking call far below the def
    # padding line 66: pushes the blocking call far below the def
    # padding line 67: pushes the blocking call far below the def
    # padding line 68: pushes the blocking call far below the def
    # padding line 69: pushes the blocking call far below the def
    # padding line 70: pushes the blocking call far below the def
    # padding line 71: pushes the blocking call far below the def
    # padding line 72: pushes the blocking call far below the def
    # padding line 73: pushes the blocking call far below the def
    # padding line 74: pushes the blocking call far below the def
    # padding line 75: pushes the blocking call far below the def
    # padding line 76: pushes the blocking call far below the def
    # padding line 77: pushes the blocking call far below the def
    # padding line 78: pushes the blocking call far below the def
    # padding line 79: pushes the blocking call far below the def
    # padding line 80: pushes the blocking call far below the def
    # padding line 81: pushes the blocking call far below the def
    # padding line 82: pushes the blocking call far below the def
    # padding line 83: pushes the blocking call far below the def
    # padding line 84: pushes the blocking call far below the def
    # padding line 85: pushes the blocking call far below the def
    # padding line 86: pushes the blocking call far below the def
    # padding line 87: pushes the blocking call far below the def
    # padding line 88: pushes the blocking call far below the def
    # padding line 89: pushes the blocking call far below the def
    # padding line 90: pushes the blocking call far below the def
    # padding line 91: pushes the blocking call far below the def
    # padding line 92: pushes the blocking call far below the def
    # padding line 93: pushes the blocking call far below the def
    # padding line 94: pushes the blocking call far below the def
    # padding line 95: pushes the blocking call far below the def
    # padding line 96: pushes the blocking call far below the def
    # padding line 97: pushes the blocking call far below the def
    # padding line 98: pushes the blocking call far below the def
    # padding line 99: pushes the blocking call far below the def
    # padding line 100: pushes the blocking call far below the def
    # padding line 101: pushes the blocking call far below the def
    # padding line 102: pushes the blocking call far below the def
    # padding line 103: pushes the blocking call far below the def
    # padding line 104: pushes the blocking call far below the def
    # padding line 105: pushes the blocking call far below the def
    # padding line 106: pushes the blocking call far below the def
    # padding line 107: pushes the blocking call far below the def
    # padding line 108: pushes the blocking call far below the def
    # padding line 109: pushes the blocking call far below the def
    # padding line 110: pushes the blocking call far below the def
    # padding line 111: pushes the blocking call far below the def
    # padding line 112: pushes the blocking call far below the def
    # padding line 113: pushes the blocking call far below the def
    # padding line 114: pushes the blocking call far below the def
    # padding line 115: pushes the blocking call far below the def
    # padding line 116: pushes the blocking call far below the def
    # padding line 117: pushes the blocking call far below the def
    # padding line 118: pushes the blocking call far below the def
    # padding line 119: pushes the blocking call far below the def
    # padding line 120: pushes the blocking call far below the def
    # padding line 121: pushes the blocking call far below the def
    # padding line 122: pushes the blocking call far below the def
    # padding line 123: pushes the blocking call far below the def
    # padding line 124: pushes the blocking call far below the def
    # padding line 125: pushes the blocking call far below the def
    # padding line 126: pushes the blocking call far below the def
    # padding line 127: pushes the blocking call far below the def
    # padding line 128: pushes the blocking call far below the def
    # padding line 129: pushes the blocking call far below the def
    # padding line 130: pushes the blocking call far below the def
    # padding line 131: pushes the blocking call far below the def
    # padding line 132: pushes the blocking call far below the def
    # padding line 133: pushes the blocking call far below the def
    # padding line 134: pushes the blocking call far below the def
    # padding line 135: pushes the blocking call far below the def
    # padding line 136: pushes the blocking call far below the def
    # padding line 137: pushes the blocking call far below the def
    # padding line 138: pushes the blocking call far below the def
    # padding line 139: pushes the blocking call far below the def
    # padding line 140: pushes the blocking call far below the def
    # padding line 141: pushes the blocking call far below the def
    # padding line 142: pushes the blocking call far below the def
    # padding line 143: pushes the blocking call far below the def
    # padding line 144: pushes the blocking call far below the def
    # padding line 145: pushes the blocking call far below the def
    # padding line 146: pushes the blocking call far below the def
    # padding line 147: pushes the blocking call far below the def
    # padding line 148: pushes the blocking call far below the def
    # padding line 149: pushes the blocking call far below the def
    # padding line 150: pushes the blocking call far below the def
    # padding line 151: pushes the blocking call far below the def
    # padding line 152: pushes the blocking call far below the def
    # padding line 153: pushes the blocking call far below the def
    # padding line 154: pushes the blocking call far below the def
    # padding line 155: pushes the blocking call far below the def
    # padding line 156: pushes the blocking call far below the def
    # padding line 157: pushes the blocking call far below the def
    # padding line 158: pushes the blocking call far below the def
    # padding line 159: pushes the blocking call far below the def
    # padding line 160: pushes the blocking call far below the def
    # padding line 161: pushes the blocking call far below the def
    # padding line 162: pushes the blocking call far below the def
    # padding line 163: pushes the blocking call far below the def
    # padding line 164: pushes the blocking call far below the def
    # padding line 165: pushes the blocking call far below the def
    # padding line 166: pushes the blocking call far below the def
    # padding line 167: pushes the blocking call far below the def
    # padding line 168: pushes the blocking call far below the def
    # padding line 169: pushes the blocking call far below the def
    # padding line 170: pushes the blocking call far below the def
    # padding line 171: pushes the blocking call far below the def
    # padding line 172: pushes the blocking call far below the def
    # padding line 173: pushes the blocking call far below the def
    # padding line 174: pushes the blocking call far below the def
    # padding line 175: pushes the blocking call far below the def
    # padding line 176: pushes the blocking call far below the def
    # padding line 177: pushes the blocking call far below the def
    # padding line 178: pushes the blocking call far below the def
    # padding line 179: pushes the blocking call far below the def
    # padding line 180: pushes the blocking call far below the def
    # padding line 181: pushes the blocking call far below the def
    # padding line 182: pushes the blocking call far below the def
    # padding line 183: pushes the blocking call far below the def
    # padding line 184: pushes the blocking call far below the def
    # padding line 185: pushes the blocking call far below the def
    # padding line 186: pushes the blocking call far below the def
    # padding line 187: pushes the blocking call far below the def
    # padding line 188: pushes the blocking call far below the def
    # padding line 189: pushes the blocking call far below the def
    # padding line 190: pushes the blocking call far below the def
    # padding line 191: pushes the blocking call far below the def
    # padding line 192: pushes the blocking call far below the def
    # padding line 193: pushes the blocking call far below the def
    # padding line 194: pushes the blocking call far below the def
    # padding line 195: pushes the blocking call far below the def
    # padding line 196: pushes the blocking call far below the def
    # padding line 197: pushes the blocking call far below the def
    # padding line 198: pushes the blocking call far below the def
    # padding line 199: pushes the blocking call far below the def
    # padding line 200: pushes the blocking call far below the def
    # padding line 201: pushes the blocking call far below the def
    # padding line 202: pushes the blocking call far below the def
    # padding line 203: pushes the blocking call far below the def
    # padding line 204: pushes the blocking call far below the def
    # padding line 205: pushes the blocking call far below the def
    # padding line 206: pushes the blocking call far below the def
    # padding line 207: pushes the blocking call far below the def
    # padding line 208: pushes the blocking call far below the def
    # padding line 209: pushes the blocking call far below the def
    # padding line 210: pushes the blocking call far below the def
    # padding line 211: pushes the blocking call far below the def
    # padding line 212: pushes the blocking call far below the def
    # padding line 213: pushes the blocking call far below the def
    # padding line 214: pushes the blocking call far below the def
    # padding line 215: pushes the blocking call far below the def
    # padding line 216: pushes the blocking call far below the def
    # padding line 217: pushes the blocking call far below the def
    # padding line 218: pushes the blocking call far below the def
    # padding line 219: pushes the blocking call far below the def
    # padding line 220: pushes the blocking call far below the def
    # padding line 221: pushes the blocking call far below the def
    # padding line 222: pushes the blocking call far below the def
    # padding line 223: pushes the blocking call far below the def
    # padding line 224: pushes the blocking call far below the def
    # padding line 225: pushes the blocking call far below the def
    # padding line 226: pushes the blocking call far below the def
    # padding line 227: pushes the blocking call far below the def
    # padding line 228: pushes the blocking call far below the def
    # padding line 229: pushes the blocking call far below the def
    # padding line 230: pushes the blocking call far below the def
    # padding line 231: pushes the blocking call far below the def
    # padding line 232: pushes the blocking call far below the def
    # padding line 233: pushes the blocking call far below the def
    # padding line 234: pushes the blocking call far below the def
    # padding line 235: pushes the blocking call far below the def
    # padding line 236: pushes the blocking call far below the def
    # padding line 237: pushes the blocking call far below the def
    # padding line 238: pushes the blocking call far below the def
    # padding line 239: pushes the blocking call far below the def
    # padding line 240: pushes the blocking call far below the def
    # padding line 241: pushes the blocking call far below the def
    # padding line 242: pushes the blocking call far below the def
    # padding line 243: pushes the blocking call far below the def
    # padding line 244: pushes the blocking call far below the def
    # padding line 245: pushes the blocking call far below the def
    # padding line 246: pushes the blocking call far below the def
    # padding line 247: pushes the blocking call far below the def
    # padding line 248: pushes the blocking call far below the def
    # padding line 249: pushes the blocking call far below the def
    # padding line 250: pushes the blocking call far below the def
    # padding line 251: pushes the blocking call far below the def
    # padding line 252: pushes the blocking call far below the def
    # padding line 253: pushes the blocking call far below the def
    # padding line 254: pushes the blocking call far below the def
    # padding line 255: pushes the blocking call far below the def
    # padding line 256: pushes the blocking call far below the def
    # padding line 257: pushes the blocking call far below the def
    # padding line 258: pushes the blocking call far below the def
    # padding line 259: pushes the blocking call far below the def
    # padding line 260: pushes the blocking call far below the def
    # padding line 261: pushes the blocking call far below the def
    # padding line 262: pushes the blocking call far below the def
    # padding line 263: pushes the blocking call far below the def
    # padding line 264: pushes the blocking call far below the def
    # padding line 265: pushes the blocking call far below the def
    # padding line 266: pushes the blocking call far below the def
    # padding line 267: pushes the blocking call far below the def
    # padding line 268: pushes the blocking call far below the def
    # padding line 269: pushes the blocking call far below the def
    # padding line 270: pushes the blocking call far below the def
    # padding line 271: pushes the blocking call far below the def
    # padding line 272: pushes the blocking call far below the def
    # padding line 273: pushes the blocking call far below the def
    # padding line 274: pushes the blocking call far below the def
    # padding line 275: pushes the blocking call far below the def
    # padding line 276: pushes the blocking call far below the def
    # padding line 277: pushes the blocking call far below the def
    # padding line 278: pushes the blocking call far below the def
    # padding line 279: pushes the blocking call far below the def
    # padding line 280: pushes the blocking call far below the def
    # padding line 281: pushes the blocking call far below the def
    # padding line 282: pushes the blocking call far below the def
    # padding line 283: pushes the blocking call far below the def
    # padding line 284: pushes the blocking call far below the def
    # padding line 285: pushes the blocking call far below the def
    # padding line 286: pushes the blocking call far below the def
    # padding line 287: pushes the blocking call far below the def
    # padding line 288: pushes the blocking call far below the def
    # padding line 289: pushes the blocking call far below the def
    # padding line 290: pushes the blocking call far below the def
    # padding line 291: pushes the blocking call far below the def
    # padding line 292: pushes the blocking call far below the def
    # padding line 293: pushes the blocking call far below the def
    # padding line 294: pushes the blocking call far below the def
    # padding line 295: pushes the blocking call far below the def
    # padding line 296: pushes the blocking call far below the def
    # padding line 297: pushes the blocking call far below the def
    # padding line 298: pushes the blocking call far below the def
    # padding line 299: pushes the blocking call far below the def
    time.sleep(1e6)  # BLOCK
    return x


if __name__ == "__main__":
    _common.start([
        ("except", in_except),
        ("finally", in_finally),
        ("loop", in_loop),
        ("listcomp", in_listcomp),
        ("class_body", in_class_body),
        ("decorator", decorated),
    ])
    far_away()
