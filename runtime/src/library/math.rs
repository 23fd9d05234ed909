//! The `Math` namespace (language §6.2), also reachable as methods of numbers (`x.abs()`), and the
//! parts of complex numbers.
//!
//! Results follow Java's `Math` where the reference defers to it: `round` is half-up toward +∞,
//! `min`/`max` propagate NaN and order −0.0 below 0.0, integer arithmetic wraps.

use super::BuiltinFn;
use super::args::{Outcome, arg, boolean, double, failure, int, lifted, long, maybe, pure};
use crate::value::Value;

/// A number argument, keeping the width the checker gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i32),
    Long(i64),
    Double(f64),
}

impl Num {
    pub fn of(value: &Value) -> Num {
        match value {
            Value::Int(value) | Value::Enum(value) => Num::Int(*value),
            Value::Long(value) => Num::Long(*value),
            Value::Maybe(Some(inner)) => Num::of(inner),
            other => Num::Double(other.as_double()),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(value) => f64::from(value),
            Num::Long(value) => value as f64,
            Num::Double(value) => value,
        }
    }
}

/// Two numbers at their common width (int < long < double).
enum Pair {
    Ints(i32, i32),
    Longs(i64, i64),
    Doubles(f64, f64),
}

fn pair(arguments: &[Value]) -> Pair {
    match (Num::of(arg(arguments, 0)), Num::of(arg(arguments, 1))) {
        (Num::Int(a), Num::Int(b)) => Pair::Ints(a, b),
        (Num::Double(a), b) => Pair::Doubles(a, b.as_f64()),
        (a, Num::Double(b)) => Pair::Doubles(a.as_f64(), b),
        (Num::Long(a), Num::Long(b)) => Pair::Longs(a, b),
        (Num::Long(a), Num::Int(b)) => Pair::Longs(a, i64::from(b)),
        (Num::Int(a), Num::Long(b)) => Pair::Longs(i64::from(a), b),
    }
}

/// `Math.function`, and the number methods that are its extension form.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "abs" => lifted!(abs),
        "sign" => lifted!(sign),
        "sqrt" => lifted!(sqrt),
        "sin" => lifted!(sin),
        "cos" => lifted!(cos),
        "tan" => lifted!(tan),
        "asin" => lifted!(asin),
        "acos" => lifted!(acos),
        "atan" => lifted!(atan),
        "sinh" => lifted!(sinh),
        "cosh" => lifted!(cosh),
        "tanh" => lifted!(tanh),
        "exp" => lifted!(exp),
        "log" => lifted!(log),
        "log10" => lifted!(log10),
        "cbrt" => lifted!(cbrt),
        "expm1" => lifted!(expm1),
        "log1p" => lifted!(log1p),
        "signum" => lifted!(signum),
        "ulp" => lifted!(ulp),
        "getExponent" => lifted!(get_exponent),
        "radians" | "toRadians" => lifted!(radians),
        "degrees" | "toDegrees" => lifted!(degrees),
        "atan2" => lifted!(atan2),
        "hypot" => lifted!(hypot),
        "pow" => lifted!(pow),
        "IEEEremainder" => lifted!(ieee_remainder),
        "copySign" => lifted!(copy_sign),
        "min" => lifted!(min),
        "max" => lifted!(max),
        "floorDiv" => lifted!(floor_div),
        "floorMod" => lifted!(floor_mod),
        "gcd" => lifted!(gcd),
        "ceil" => lifted!(ceil),
        "floor" => lifted!(floor),
        "round" => lifted!(round),
        "roundTo" => lifted!(round_to),
        "intOf" => lifted!(int_of),
        "longOf" => lifted!(long_of),
        "clampIntOf" => lifted!(clamp_int_of),
        "isNaN" => lifted!(is_nan),
        "isInfinite" => lifted!(is_infinite),
        "valid" => lifted!(valid),
        "near" => lifted!(near),
        "xor" => lifted!(xor),
        "conj" => lifted!(conj),
        "length" => lifted!(length),
        "isTrue" => pure!(is_true),
        "intersects" => lifted!(intersects),
        "forceId" => pure!(force_id),
        "PI" => pure!(pi),
        "E" => pure!(e),
        "SQRT2" => pure!(sqrt2),
        _ => None,
    }
}

/// The methods of `complex` values beyond the `Math` extensions.
pub fn complex_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "re" | "real" => lifted!(real),
        "im" | "imaginary" => lifted!(imaginary),
        _ => None,
    }
}

fn complex_parts(value: &Value) -> (f64, f64) {
    match value {
        Value::Complex(re, im) => (*re, *im),
        Value::Maybe(Some(inner)) => complex_parts(inner),
        other => (other.as_double(), 0.0),
    }
}

fn real(arguments: &[Value]) -> Outcome {
    Ok(Value::Double(complex_parts(arg(arguments, 0)).0))
}

fn imaginary(arguments: &[Value]) -> Outcome {
    Ok(Value::Double(complex_parts(arg(arguments, 0)).1))
}

fn abs(arguments: &[Value]) -> Outcome {
    Ok(match arg(arguments, 0) {
        Value::Complex(re, im) => Value::Double(re.hypot(*im)),
        other => match Num::of(other) {
            Num::Int(value) => Value::Int(value.wrapping_abs()),
            Num::Long(value) => Value::Long(value.wrapping_abs()),
            Num::Double(value) => Value::Double(value.abs()),
        },
    })
}

fn sign(arguments: &[Value]) -> Outcome {
    let sign = match Num::of(arg(arguments, 0)) {
        Num::Int(value) => value.signum(),
        Num::Long(value) => value.signum() as i32,
        Num::Double(value) if value > 0.0 => 1,
        Num::Double(value) if value < 0.0 => -1,
        Num::Double(_) => 0,
    };
    Ok(Value::Int(sign))
}

/// The principal square root; a negative double has an imaginary root (`sqrt(-4.0) == 2 @i`).
fn sqrt(arguments: &[Value]) -> Outcome {
    let (re, im) = complex_parts(arg(arguments, 0));
    if im == 0.0 {
        return Ok(if re < 0.0 {
            Value::Complex(0.0, (-re).sqrt())
        } else {
            Value::Complex(re.sqrt(), 0.0)
        });
    }
    let modulus = re.hypot(im);
    let real = ((modulus + re) / 2.0).sqrt();
    let imaginary = ((modulus - re) / 2.0).sqrt().copysign(im);
    Ok(Value::Complex(real, imaginary))
}

fn unary(arguments: &[Value], function: fn(f64) -> f64) -> Outcome {
    Ok(Value::Double(function(double(arguments, 0))))
}

fn binary(arguments: &[Value], function: fn(f64, f64) -> f64) -> Outcome {
    Ok(Value::Double(function(
        double(arguments, 0),
        double(arguments, 1),
    )))
}

fn sin(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::sin)
}
fn cos(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::cos)
}
fn tan(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::tan)
}
fn asin(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::asin)
}
fn acos(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::acos)
}
fn atan(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::atan)
}
fn sinh(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::sinh)
}
fn cosh(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::cosh)
}
fn tanh(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::tanh)
}
fn exp(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::exp)
}
fn log(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::ln)
}
fn log10(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::log10)
}
fn cbrt(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::cbrt)
}
fn expm1(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::exp_m1)
}
fn log1p(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::ln_1p)
}
fn radians(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::to_radians)
}
fn degrees(arguments: &[Value]) -> Outcome {
    unary(arguments, f64::to_degrees)
}
fn atan2(arguments: &[Value]) -> Outcome {
    binary(arguments, f64::atan2)
}
fn hypot(arguments: &[Value]) -> Outcome {
    binary(arguments, f64::hypot)
}
fn pow(arguments: &[Value]) -> Outcome {
    binary(arguments, java_pow)
}
fn copy_sign(arguments: &[Value]) -> Outcome {
    binary(arguments, f64::copysign)
}
fn ieee_remainder(arguments: &[Value]) -> Outcome {
    binary(arguments, java_ieee_remainder)
}

/// Java's `Math.pow` differs from IEEE `pow` only in `pow(±1, ±∞)`, which Java makes NaN.
fn java_pow(base: f64, exponent: f64) -> f64 {
    if base.abs() == 1.0 && exponent.is_infinite() {
        return f64::NAN;
    }
    base.powf(exponent)
}

/// Java's `Math.signum`: keeps the sign of zero and NaN.
fn signum(arguments: &[Value]) -> Outcome {
    let value = double(arguments, 0);
    Ok(Value::Double(if value == 0.0 || value.is_nan() {
        value
    } else {
        1.0f64.copysign(value)
    }))
}

/// Java's `Math.getExponent`: the unbiased exponent, −1023 for zero and subnormals, 1024 for
/// NaN and infinities.
fn exponent_of(value: f64) -> i32 {
    ((value.to_bits() >> 52) & 0x7ff) as i32 - 1023
}

fn get_exponent(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(exponent_of(double(arguments, 0))))
}

/// Java's `Math.ulp`: the distance to the next double away from zero.
fn ulp(arguments: &[Value]) -> Outcome {
    let value = double(arguments, 0);
    let exponent = exponent_of(value);
    let ulp = match exponent {
        1024 => value.abs(),
        -1023 => f64::from_bits(1),
        _ => {
            let shifted = exponent - 52;
            if shifted >= -1022 {
                f64::from_bits(((shifted + 1023) as u64) << 52)
            } else {
                f64::from_bits(1u64 << (shifted + 1074))
            }
        }
    };
    Ok(Value::Double(ulp))
}

/// IEEE 754 remainder: `x − n·y` with `n` the quotient rounded half-even.
fn java_ieee_remainder(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() || x.is_infinite() || y == 0.0 {
        return f64::NAN;
    }
    if y.is_infinite() {
        return x;
    }
    let divisor = y.abs();
    let remainder = x % divisor;
    let magnitude = remainder.abs();
    let rest = divisor - magnitude;
    // The truncated quotient is odd exactly when x mod 2|y| is at least |y|.
    let odd_quotient = divisor <= f64::MAX / 2.0 && (x % (2.0 * divisor)).abs() >= divisor;
    if magnitude > rest || (magnitude == rest && odd_quotient) {
        remainder - divisor.copysign(remainder)
    } else {
        remainder
    }
}

/// Java's `Math.min` on doubles: NaN wins, −0.0 is below 0.0.
fn java_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() { a } else { b }
    } else if a < b {
        a
    } else {
        b
    }
}

fn java_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_positive() { a } else { b }
    } else if a > b {
        a
    } else {
        b
    }
}

fn min(arguments: &[Value]) -> Outcome {
    Ok(match pair(arguments) {
        Pair::Ints(a, b) => Value::Int(a.min(b)),
        Pair::Longs(a, b) => Value::Long(a.min(b)),
        Pair::Doubles(a, b) => Value::Double(java_min(a, b)),
    })
}

fn max(arguments: &[Value]) -> Outcome {
    Ok(match pair(arguments) {
        Pair::Ints(a, b) => Value::Int(a.max(b)),
        Pair::Longs(a, b) => Value::Long(a.max(b)),
        Pair::Doubles(a, b) => Value::Double(java_max(a, b)),
    })
}

fn floor_div(arguments: &[Value]) -> Outcome {
    match pair(arguments) {
        Pair::Ints(_, 0) | Pair::Longs(_, 0) => Err(failure("Math.floorDiv by zero")),
        Pair::Ints(a, b) => {
            let quotient = a.wrapping_div(b);
            let adjust = a.wrapping_rem(b) != 0 && (a ^ b) < 0;
            Ok(Value::Int(quotient.wrapping_sub(i32::from(adjust))))
        }
        Pair::Longs(a, b) => {
            let quotient = a.wrapping_div(b);
            let adjust = a.wrapping_rem(b) != 0 && (a ^ b) < 0;
            Ok(Value::Long(quotient.wrapping_sub(i64::from(adjust))))
        }
        Pair::Doubles(a, b) => Ok(Value::Double((a / b).floor())),
    }
}

fn floor_mod(arguments: &[Value]) -> Outcome {
    match pair(arguments) {
        Pair::Ints(_, 0) | Pair::Longs(_, 0) => Err(failure("Math.floorMod by zero")),
        Pair::Ints(a, b) => {
            let remainder = a.wrapping_rem(b);
            Ok(Value::Int(if remainder != 0 && (remainder ^ b) < 0 {
                remainder.wrapping_add(b)
            } else {
                remainder
            }))
        }
        Pair::Longs(a, b) => {
            let remainder = a.wrapping_rem(b);
            Ok(Value::Long(if remainder != 0 && (remainder ^ b) < 0 {
                remainder.wrapping_add(b)
            } else {
                remainder
            }))
        }
        Pair::Doubles(a, b) => Ok(Value::Double(a - (a / b).floor() * b)),
    }
}

/// The greatest common divisor of the absolute values; `gcd(x, 0) == |x|`.
fn gcd(arguments: &[Value]) -> Outcome {
    let mut a = i64::from(int(arguments, 0)).unsigned_abs();
    let mut b = i64::from(int(arguments, 1)).unsigned_abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    // |i32::MIN| does not fit an int; like Java's int arithmetic it wraps.
    Ok(Value::Int(a as i32))
}

/// Java's `Math.round(double)`: half-up toward +∞, saturated to a long.
pub fn java_round(value: f64) -> i64 {
    if value.is_nan() {
        return 0;
    }
    let floor = value.floor();
    let rounded = if value - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    };
    rounded as i64
}

/// Two-argument forms round to a multiple of the precision.
fn precision(arguments: &[Value]) -> Option<f64> {
    (arguments.len() > 1).then(|| double(arguments, 1))
}

fn ceil(arguments: &[Value]) -> Outcome {
    let value = double(arguments, 0);
    Ok(Value::Double(match precision(arguments) {
        Some(step) => (value / step).ceil() * step,
        None => value.ceil(),
    }))
}

fn floor(arguments: &[Value]) -> Outcome {
    let value = double(arguments, 0);
    Ok(Value::Double(match precision(arguments) {
        Some(step) => (value / step).floor() * step,
        None => value.floor(),
    }))
}

/// One argument: Java's `Math.round` narrowed to an int, so large values wrap as in the reference.
fn round(arguments: &[Value]) -> Outcome {
    let value = double(arguments, 0);
    Ok(Value::Double(match precision(arguments) {
        Some(step) => java_round(value / step) as f64 * step,
        None => f64::from(java_round(value) as i32),
    }))
}

fn round_to(arguments: &[Value]) -> Outcome {
    let scale = 10f64.powi(int(arguments, 1));
    Ok(Value::Double(
        java_round(double(arguments, 0) * scale) as f64 / scale,
    ))
}

fn int_of(arguments: &[Value]) -> Outcome {
    Ok(match Num::of(arg(arguments, 0)) {
        Num::Int(value) => Value::some(Value::Int(value)),
        Num::Long(value) => maybe(i32::try_from(value).ok().map(Value::Int)),
        Num::Double(value) => {
            let truncated = value.trunc();
            let fits = (-2_147_483_648.0..=2_147_483_647.0).contains(&truncated);
            maybe(fits.then(|| Value::Int(truncated as i32)))
        }
    })
}

fn long_of(arguments: &[Value]) -> Outcome {
    Ok(match Num::of(arg(arguments, 0)) {
        Num::Int(value) => Value::some(Value::Long(i64::from(value))),
        Num::Long(value) => Value::some(Value::Long(value)),
        Num::Double(value) => {
            let truncated = value.trunc();
            // 2^63 is the first double above i64::MAX.
            let fits =
                (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&truncated);
            maybe(fits.then(|| Value::Long(truncated as i64)))
        }
    })
}

fn clamp_int_of(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(match Num::of(arg(arguments, 0)) {
        Num::Int(value) => value,
        Num::Long(value) => value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        // `as` saturates and maps NaN to 0, as Java's `(int)` does.
        Num::Double(value) => value as i32,
    }))
}

fn is_nan(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(double(arguments, 0).is_nan()))
}

fn is_infinite(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(double(arguments, 0).is_infinite()))
}

fn valid(arguments: &[Value]) -> Outcome {
    let value = double(arguments, 0);
    Ok(maybe(value.is_finite().then_some(Value::Double(value))))
}

const TOLERANCE: f64 = 1e-7;

fn near(arguments: &[Value]) -> Outcome {
    let (a_re, a_im) = complex_parts(arg(arguments, 0));
    let (b_re, b_im) = complex_parts(arg(arguments, 1));
    Ok(Value::Bool(
        (a_re - b_re).abs() < TOLERANCE && (a_im - b_im).abs() < TOLERANCE,
    ))
}

fn xor(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(boolean(arguments, 0) ^ boolean(arguments, 1)))
}

fn conj(arguments: &[Value]) -> Outcome {
    let (re, im) = complex_parts(arg(arguments, 0));
    Ok(Value::Complex(re, -im))
}

fn length(arguments: &[Value]) -> Outcome {
    let (re, im) = complex_parts(arg(arguments, 0));
    Ok(Value::Double(re.hypot(im)))
}

/// Takes a `maybe<bool>`: empty is false.
fn is_true(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(boolean(arguments, 0)))
}

/// Takes a `maybe<int>`: empty is 0.
fn force_id(arguments: &[Value]) -> Outcome {
    Ok(Value::Int(int(arguments, 0)))
}

/// Do the closed intervals `[a, b]` and `[c, d]` overlap (endpoints in either order)?
fn intersects(arguments: &[Value]) -> Outcome {
    let numbers: Vec<Num> = (0..4).map(|index| Num::of(arg(arguments, index))).collect();
    let overlap = if numbers
        .iter()
        .any(|number| matches!(number, Num::Double(_)))
    {
        let [a, b, c, d] = [0, 1, 2, 3].map(|index| numbers[index].as_f64());
        java_max(a.min(b), c.min(d)) <= java_min(a.max(b), c.max(d))
    } else {
        let [a, b, c, d] = [0, 1, 2, 3].map(|index| long(arguments, index));
        a.min(b).max(c.min(d)) <= a.max(b).min(c.max(d))
    };
    Ok(Value::Bool(overlap))
}

fn pi(_: &[Value]) -> Outcome {
    Ok(Value::Double(std::f64::consts::PI))
}

fn e(_: &[Value]) -> Outcome {
    Ok(Value::Double(std::f64::consts::E))
}

fn sqrt2(_: &[Value]) -> Outcome {
    Ok(Value::Double(std::f64::consts::SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, none, run, same, some};
    use crate::value::Value;

    fn d(value: f64) -> Value {
        Value::Double(value)
    }

    #[test]
    fn round_is_half_up_toward_positive_infinity() {
        same(&run("Math.round", &[d(-2.5)]), &d(-2.0));
        same(&run("Math.round", &[d(2.5)]), &d(3.0));
        same(&run("Math.round", &[d(0.49999999999999994)]), &d(0.0));
        same(&run("double.round", &[d(-0.5)]), &d(0.0));
    }

    #[test]
    fn one_argument_round_is_narrowed_to_an_int() {
        same(&run("Math.round", &[d(3e9)]), &d(-1_294_967_296.0));
        same(&run("Math.round", &[d(1e300)]), &d(-1.0));
        same(&run("Math.round", &[d(f64::NAN)]), &d(0.0));
    }

    #[test]
    fn precision_forms_round_to_a_multiple() {
        let rounded = run("Math.round", &[d(7.3), d(0.5)]).as_double();
        assert!((rounded - 7.5).abs() < 1e-12);
        same(&run("Math.ceil", &[d(7.1), d(2.0)]), &d(8.0));
        same(&run("Math.floor", &[d(7.9), d(2.0)]), &d(6.0));
        same(&run("Math.roundTo", &[d(1.2345), Value::Int(2)]), &d(1.23));
        same(&run("Math.roundTo", &[d(-1.235), Value::Int(1)]), &d(-1.2));
    }

    #[test]
    fn abs_and_sign_keep_the_argument_width() {
        same(&run("Math.abs", &[Value::Int(-3)]), &Value::Int(3));
        same(
            &run("int.abs", &[Value::Int(i32::MIN)]),
            &Value::Int(i32::MIN),
        );
        same(&run("long.abs", &[Value::Long(-3)]), &Value::Long(3));
        same(&run("double.abs", &[d(-1.5)]), &d(1.5));
        same(&run("complex.abs", &[Value::Complex(3.0, 4.0)]), &d(5.0));
        same(&run("Math.sign", &[d(-0.1)]), &Value::Int(-1));
        same(&run("Math.sign", &[Value::Long(9)]), &Value::Int(1));
        same(&run("Math.sign", &[d(f64::NAN)]), &Value::Int(0));
    }

    #[test]
    fn maybe_arguments_give_maybe_results() {
        same(
            &run("Math.abs", &[some(Value::Int(-3))]),
            &some(Value::Int(3)),
        );
        same(&run("Math.abs", &[none()]), &none());
        same(
            &run("Math.max", &[some(Value::Int(1)), Value::Int(2)]),
            &some(Value::Int(2)),
        );
        same(&run("maybe.abs", &[some(d(-2.0))]), &some(d(2.0)));
        same(&run("maybe.abs", &[none()]), &none());
    }

    #[test]
    fn sqrt_of_a_negative_is_imaginary() {
        same(&run("Math.sqrt", &[d(-4.0)]), &Value::Complex(0.0, 2.0));
        same(
            &run("Math.sqrt", &[Value::Int(9)]),
            &Value::Complex(3.0, 0.0),
        );
        let root = run("Math.sqrt", &[Value::Complex(3.0, 4.0)]);
        assert_eq!(root, Value::Complex(2.0, 1.0));
    }

    #[test]
    fn floor_division_rounds_toward_negative_infinity() {
        same(
            &run("Math.floorDiv", &[Value::Int(-7), Value::Int(2)]),
            &Value::Int(-4),
        );
        same(
            &run("Math.floorMod", &[Value::Int(-7), Value::Int(2)]),
            &Value::Int(1),
        );
        same(
            &run("Math.floorMod", &[Value::Int(7), Value::Int(-2)]),
            &Value::Int(-1),
        );
        same(
            &run("Math.floorDiv", &[Value::Int(i32::MIN), Value::Int(-1)]),
            &Value::Int(i32::MIN),
        );
        same(
            &run("Math.floorDiv", &[Value::Long(-7), Value::Long(2)]),
            &Value::Long(-4),
        );
        assert!(call("Math.floorDiv", &[Value::Int(1), Value::Int(0)]).is_err());
        assert!(call("Math.floorMod", &[Value::Long(1), Value::Long(0)]).is_err());
    }

    #[test]
    fn gcd_uses_absolute_values() {
        same(
            &run("Math.gcd", &[Value::Int(-12), Value::Int(18)]),
            &Value::Int(6),
        );
        same(
            &run("Math.gcd", &[Value::Int(-5), Value::Int(0)]),
            &Value::Int(5),
        );
        same(
            &run("Math.gcd", &[Value::Int(i32::MIN), Value::Int(0)]),
            &Value::Int(i32::MIN),
        );
    }

    #[test]
    fn conversions_to_integers_report_out_of_range() {
        same(&run("Math.intOf", &[d(-3.9)]), &some(Value::Int(-3)));
        same(&run("Math.intOf", &[d(3e9)]), &none());
        same(&run("Math.intOf", &[d(f64::NAN)]), &none());
        same(
            &run("Math.longOf", &[d(3e9)]),
            &some(Value::Long(3_000_000_000)),
        );
        same(&run("Math.longOf", &[d(1e19)]), &none());
        same(&run("Math.clampIntOf", &[d(1e19)]), &Value::Int(i32::MAX));
        same(&run("Math.clampIntOf", &[d(f64::NAN)]), &Value::Int(0));
    }

    #[test]
    fn min_and_max_follow_java() {
        same(
            &run("Math.min", &[Value::Int(3), Value::Int(-2)]),
            &Value::Int(-2),
        );
        same(
            &run("Math.max", &[Value::Long(3), Value::Int(5)]),
            &Value::Long(5),
        );
        assert!(run("Math.max", &[d(f64::NAN), d(1.0)]).as_double().is_nan());
        assert!(
            run("Math.min", &[d(0.0), d(-0.0)])
                .as_double()
                .is_sign_negative()
        );
    }

    #[test]
    fn java_special_functions() {
        same(&run("Math.ulp", &[d(1.0)]), &d(f64::EPSILON));
        same(&run("Math.ulp", &[d(0.0)]), &d(f64::from_bits(1)));
        same(&run("Math.ulp", &[d(f64::MAX)]), &d(2f64.powi(971)));
        same(&run("Math.getExponent", &[d(8.0)]), &Value::Int(3));
        same(&run("Math.getExponent", &[d(0.0)]), &Value::Int(-1023));
        same(&run("Math.IEEEremainder", &[d(5.0), d(2.0)]), &d(1.0));
        same(&run("Math.IEEEremainder", &[d(7.0), d(2.0)]), &d(-1.0));
        same(&run("Math.IEEEremainder", &[d(-3.0), d(2.0)]), &d(1.0));
        assert!(
            run("Math.IEEEremainder", &[d(1.0), d(0.0)])
                .as_double()
                .is_nan()
        );
        same(&run("Math.signum", &[d(-4.0)]), &d(-1.0));
        assert!(
            run("Math.pow", &[d(1.0), d(f64::INFINITY)])
                .as_double()
                .is_nan()
        );
        same(&run("Math.degrees", &[d(std::f64::consts::PI)]), &d(180.0));
    }

    #[test]
    fn predicates_and_complex_helpers() {
        same(
            &run("Math.near", &[d(1.0), d(1.00000001)]),
            &Value::Bool(true),
        );
        same(
            &run("Math.near", &[Value::Complex(1.0, 0.0), Value::Int(1)]),
            &Value::Bool(true),
        );
        same(
            &run("Math.near", &[Value::Complex(1.0, 1.0), d(1.0)]),
            &Value::Bool(false),
        );
        same(&run("Math.isTrue", &[none()]), &Value::Bool(false));
        same(
            &run("maybe.isTrue", &[some(Value::Bool(true))]),
            &Value::Bool(true),
        );
        same(&run("Math.forceId", &[none()]), &Value::Int(0));
        same(
            &run("maybe.forceId", &[some(Value::Int(7))]),
            &Value::Int(7),
        );
        same(&run("Math.valid", &[d(f64::INFINITY)]), &none());
        same(
            &run("Math.conj", &[Value::Complex(1.0, 2.0)]),
            &Value::Complex(1.0, -2.0),
        );
        same(&run("complex.re", &[Value::Complex(1.0, 2.0)]), &d(1.0));
        same(
            &run("complex.imaginary", &[Value::Complex(1.0, 2.0)]),
            &d(2.0),
        );
        same(
            &run("Math.xor", &[Value::Bool(true), Value::Bool(true)]),
            &Value::Bool(false),
        );
        let args = [1, 5, 5, 9].map(Value::Int);
        same(&run("Math.intersects", &args), &Value::Bool(true));
        let args = [d(1.0), d(4.9), d(5.0), d(9.0)];
        same(&run("Math.intersects", &args), &Value::Bool(false));
        same(&run("Math.SQRT2", &[]), &d(std::f64::consts::SQRT_2));
    }
}
