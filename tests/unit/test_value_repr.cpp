// The renderer alone, on hand-built PyValue trees: python-gdb.py's output
// forms, the 1024-character cut, and Python's repr() of floats, complex
// numbers, str and bytes (floats checked against repr() of CPython 3.11).
#include <doctest/doctest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "render/value_repr.h"
#include "render/unicode_printable.h"

using namespace pyattach;
using namespace pyattach::render;
using cpython::PyValue;
using cpython::ValueKind;

namespace {

PyValue node(ValueKind kind, std::uint64_t addr = 0, std::string type_name = {}) {
  PyValue v;
  v.kind = kind;
  v.address = RemoteAddr(addr);
  v.type_name = std::move(type_name);
  return v;
}
PyValue integer(std::string text) {
  PyValue v = node(ValueKind::kInt, 0x100, "int");
  v.text = std::move(text);
  return v;
}
PyValue str(std::string text) {
  PyValue v = node(ValueKind::kStr, 0x200, "str");
  v.text = std::move(text);
  return v;
}
PyValue with(PyValue v, std::vector<PyValue> children) {
  v.length = children.size();
  v.children = std::move(children);
  return v;
}

// (IEEE-754 bits, repr()) pairs recorded from CPython: fixed cases around the
// exponent thresholds and subnormals, then random bit patterns and decimals.
struct FloatCase {
  std::uint64_t bits;
  const char* repr;
};
constexpr FloatCase kFloats[] = {
    {0x0000000000000000ull, "0.0"},
    {0x8000000000000000ull, "-0.0"},
    {0x3ff0000000000000ull, "1.0"},
    {0xbff0000000000000ull, "-1.0"},
    {0x3fe0000000000000ull, "0.5"},
    {0x3fb999999999999aull, "0.1"},
    {0x3fc999999999999aull, "0.2"},
    {0x3fd3333333333333ull, "0.3"},
    {0x3fd5555555555555ull, "0.3333333333333333"},
    {0x3fe5555555555555ull, "0.6666666666666666"},
    {0x4059000000000000ull, "100.0"},
    {0x430c6bf526340000ull, "1000000000000000.0"},
    {0x4341c37937e08000ull, "1e+16"},
    {0x4376345785d8a000ull, "1e+17"},
    {0x419d6f3454000000ull, "123456789.0"},
    {0x43118b54f22aeb00ull, "1234567890123456.0"},
    {0x4345ee2a2eb5a5c4ull, "1.2345678901234568e+16"},
    {0x4341c37937e07fffull, "9999999999999998.0"},
    {0x3f1a36e2eb1c432dull, "0.0001"},
    {0x3ee4f8b588e368f1ull, "1e-05"},
    {0x3f202e4b6ce5dc68ull, "0.00012345"},
    {0x3eef75104d551d69ull, "1.5e-05"},
    {0x0000000000000001ull, "5e-324"},
    {0x0010000000000000ull, "2.2250738585072014e-308"},
    {0x7fefffffffffffffull, "1.7976931348623157e+308"},
    {0x4480f0cf064dd592ull, "1e+22"},
    {0x44b52d02c7e14af6ull, "1e+23"},
    {0x4011666666666666ull, "4.35"},
    {0x4005666666666666ull, "2.675"},
    {0x54b249ad2594c37dull, "1e+100"},
    {0x2b2bff2ee48e0530ull, "1e-100"},
    {0x400921fb54442d18ull, "3.141592653589793"},
    {0x4005bf0a8b145769ull, "2.718281828459045"},
    {0xc735df5ef7697fb9ull, "-1.1356873538845983e+35"},
    {0x1de9ea6670d3da1full, "1.4063521386385737e-164"},
    {0x17346b4501eaf614ull, "6.829010422540122e-197"},
    {0xf149f542e935b870ull, "-5.282246915350664e+237"},
    {0xce97b5bdf073eed1ull, "-4.0909979815658245e+70"},
    {0x08f0ebd4950cddd9ull, "1.3119440445508822e-265"},
    {0xb16e2d5cabeb9592ull, "-1.3663749809437804e-70"},
    {0x19322fed157cf9c6ull, "2.6124550078186405e-187"},
    {0x5ac96628c4381836ull, "2.2007250832970862e+129"},
    {0x04762a223c9f90c9ull, "3.639014178314721e-287"},
    {0xfc9799a707e36d60ull, "-1.4719450102642776e+292"},
    {0x040e1e30c9ed0248ull, "3.863130003091716e-289"},
    {0xa5f80a0a58994953ull, "-8.878144306130779e-126"},
    {0x7bf78a4d9f8f5ffbull, "1.4337943644354699e+289"},
    {0x76ab14759da618fdull, "4.2635719382329216e+263"},
    {0x175e99412607ad5full, "4.0934086839589737e-196"},
    {0xb6a20bb02edf0743ull, "-1.5804594730508215e-45"},
    {0xd868c2cf1d4a2b12ull, "-7.805056034326984e+117"},
    {0x80ca17b703be0e66ull, "-7.431429504086299e-305"},
    {0xe16682717c9bbfaeull, "-1.5823202933922794e+161"},
    {0x3ff4bb8cf703c9ffull, "1.2957887314811385"},
    {0xaad1426810872756ull, "-1.92649189818196e-102"},
    {0xe98d7c358a84c15cull, "-2.8211819309374095e+200"},
    {0x118dc10e774520d7ull, "4.0192077128250256e-224"},
    {0xacd51e6699f9823cull, "-1.012440749133234e-92"},
    {0x83d9fca716c40a33ull, "-4.166573760527429e-290"},
    {0x0bc4621b94398520ull, "5.560408693813116e-252"},
    {0xd30aad4b45038e22ull, "-1.0868373137039075e+92"},
    {0x1025dbe58e725d57ull, "7.039844370119124e-231"},
    {0x4d6bfd8fa506bfc5ull, "9.211690207278791e+64"},
    {0xd9a54a0d7b25331full, "-7.036698908811296e+123"},
    {0x443658625af0f3e0ull, "4.121971224355956e+20"},
    {0xa7cda6c23fc86ee6ull, "-5.879182220253732e-117"},
    {0x33354fc7eefadf23ull, "5.180573799937381e-62"},
    {0xe065e3eb74113cb0ull, "-2.348008735187852e+156"},
    {0xaa58695187b8a518ull, "-1.0643738841322141e-104"},
    {0xf1048aa604f0d0f2ull, "-2.612527026339285e+236"},
    {0x121213ca8212f7c6ull, "1.2502503253908845e-221"},
    {0x5560eaba017ad051ull, "1.8944769724102456e+103"},
    {0xb5c36ec124ce01e1ull, "-1.0387772017992709e-49"},
    {0xa8486261790b2f7cull, "-1.2377186935997545e-114"},
    {0x2ac7e1da6099d795ull, "1.3328660836959322e-102"},
    {0x138411eb0dde6d08ull, "1.1643949652933532e-214"},
    {0x7f1ff9fe966844aaull, "2.1928408866034125e+304"},
    {0x1348486129fc1d9dull, "8.805026657490265e-216"},
    {0x37106d208ead31c8ull, "1.841449454850151e-43"},
    {0x06f1e77124ed49b1ull, "3.2320326819621345e-275"},
    {0x58a295d4eff35b61ull, "9.373405876369673e+118"},
    {0x1c63373ac55ef186ull, "6.215407538915419e-172"},
    {0x879951fff4f991a8ull, "-4.680507856267191e-272"},
    {0xaba601ca242780aaull, "-2.012297029417007e-98"},
    {0x7442a1244e2e3761ull, "1.0670546429497809e+252"},
    {0x6a8f69260a228ba8ull, "1.9696324318292276e+205"},
    {0xa99226f446db4bc4ull, "-1.932279725419745e-108"},
    {0x0a4adb41ce779a93ull, "4.3667941232570774e-259"},
    {0x458c3cdb2d665a7bull, "1.0923938574891393e+27"},
    {0x4cdead2e2791eef8ull, "1.9718084653907102e+62"},
    {0xd8fba355f4687101ull, "-4.4605187757041577e+120"},
    {0xc777b54b2790ae2cull, "-1.9695983718651802e+36"},
    {0x76e99afdd579c4c9ull, "6.450277159919618e+264"},
    {0x9027b9ad0a831788ull, "-7.640908265332182e-231"},
    {0xc3a671c462dcec66ull, "-8.08644835047519e+17"},
    {0x7ef077e0597ee18bull, "2.8233423828550756e+303"},
    {0x95365d68577a296eull, "-1.741523851689301e-206"},
    {0x77d6a830d103b91full, "1.870244763614416e+269"},
    {0x0b9ab36679d6dedbull, "9.10474189068058e-253"},
    {0xeed66a5ac86b7f7full, "-8.29705909697347e+225"},
    {0xdec4ac467888fa7aull, "-3.3042305345942895e+148"},
    {0x984c6df8d13d74f3ull, "-1.2462442926515905e-191"},
    {0x2b833e28e1ae6a00ull, "4.398858138480103e-99"},
    {0xbbc9a6e0708963bbull, "-1.086398621094347e-20"},
    {0x84eb1e73c7f3c8a0ull, "-5.6991101665136146e-285"},
    {0x701861c0d092e07full, "9.463315179331181e+231"},
    {0x4669165f4bb19d02ull, "1.590102350783532e+31"},
    {0xc7154f271fb661b4ull, "-2.766091102519478e+34"},
    {0x6a94427d2f84ea0full, "2.540800443404425e+205"},
    {0xc4e145896fa19d46ull, "-6.525036708933792e+23"},
    {0xf0689ae11e956a7dull, "-3.055976308649174e+233"},
    {0x1a644d9287a0eabfull, "1.5290201335155283e-181"},
    {0xd72f9ecdd454f1e8ull, "-9.50549597147081e+111"},
    {0x607741867c362491ull, "4.9889827605286265e+156"},
    {0xd11776a4d15703e0ull, "-4.4513397576837227e+82"},
    {0x4166c3fba8094805ull, "11935709.251132974"},
    {0x31007342a41b657aull, "1.1638129255461296e-72"},
    {0x1bb039fa5868c99bull, "2.562752995371227e-175"},
    {0xb33bfa31b3e174ebull, "-6.800909976921437e-62"},
    {0xf6a11b92cf58440cull, "-2.6935067915499186e+263"},
    {0x949606b3283c4412ull, "-1.6749507338756098e-209"},
    {0xf1689e5fe87212b0ull, "-2.003875973933175e+238"},
    {0xf8d07ea044f2d5a4ull, "-8.923161001361903e+273"},
    {0xd911b0dc27a40502ull, "-1.142055481532194e+121"},
    {0xfbd67b31d729a460ull, "-3.4232287258709103e+288"},
    {0x52d037e4b85a4eabull, "8.259332327258708e+90"},
    {0xc9782a58cb26e7a5ull, "-8.622509050519147e+45"},
    {0xb87ec0d17259023bull, "-1.4460083221279697e-36"},
    {0x14180ee8121e3cc4ull, "7.146389926180576e-212"},
    {0x36d288d4652ea613ull, "1.2986176813550528e-44"},
    {0xe50008d80c386144ull, "-3.248808636129819e+178"},
    {0xcdabc3ea49400b81ull, "-1.4620133527608067e+66"},
    {0x382a0c2d09ba039aull, "3.8273452810605533e-38"},
    {0xd4621dc481b81040ull, "-3.095691087036215e+98"},
    {0xcaf4a2a116716583ull, "-1.2352914074224891e+53"},
    {0xf0604517eecda947ull, "-2.020744686132222e+233"},
    {0xff977125b30b0b98ull, "-4.115379805148777e+306"},
    {0x4e3d69675125ff0full, "7.929387461154064e+68"},
    {0x75f93a5ff1eeddeeull, "1.939454295511447e+260"},
    {0x95c13a7910f44ac0ull, "-6.868756776540279e-204"},
    {0xdb44062d41e6dc09ull, "-4.441623444860488e+131"},
    {0xb0575eb712b01ad0ull, "-8.073083792239998e-76"},
    {0xf312c9346d22469dull, "-2.0523422049323933e+246"},
    {0x19ee50c433af81d9ull, "8.918201994276421e-184"},
    {0x31d17176658aa25dull, "1.0109448804978585e-68"},
    {0xe2ee229ab471b2e6ull, "-3.554031593068603e+168"},
    {0x75a66c1ae32996b4ull, "5.386741887781486e+258"},
    {0x3c7ff71f8021ef32ull, "2.7725499335409474e-17"},
    {0xcc2c6076d18b4894ull, "-8.906207114797882e+58"},
    {0xee57a9865c7b2cecull, "-3.421306945562136e+223"},
    {0x3480251adbd2db62ull, "8.23052001340602e-56"},
    {0xe3c1bbce83d9479cull, "-3.4266119798616976e+172"},
    {0x6bd20911b3d18022ull, "2.3717198433754285e+211"},
    {0xf3d9ff9f2cb87a7aull, "-1.1633893589133791e+250"},
    {0x3408d67f95a290e3ull, "4.946129068040206e-58"},
    {0x0f7087574d4142f8ull, "2.599210455060107e-234"},
    {0x5a3c8204d0170778ull, "4.824398888216168e+126"},
    {0x272ef8a588ca8e3cull, "5.99695562315867e-120"},
    {0xe80dcc197fe4f416ull, "-1.6993530998889352e+193"},
    {0xf36d31e8c5f8a3f2ull, "-1.0206440425009031e+248"},
    {0x78f190db8c8d4630ull, "3.8010644551289e+274"},
    {0x2383bc6655712a55ull, "1.325835762014432e-137"},
    {0x0c4e7af82184d0eaull, "2.128597432662327e-249"},
    {0x2a42ab569fdf9fe2ull, "4.0700461741951536e-105"},
    {0x251a0926ece37d77ull, "5.868836057819465e-130"},
    {0x8bcae492d7a384eaull, "-7.336192522642425e-252"},
    {0xb6bb83ff11db1f30ull, "-4.8196978958397435e-45"},
    {0x2bc835ab5345e427ull, "8.854822244958592e-98"},
    {0xab11c60e006fd424ull, "-3.174227993820742e-101"},
    {0x0f923425acb8f4afull, "1.1450462795061052e-233"},
    {0x166e4be7a3665363ull, "1.23687384852569e-200"},
    {0xcac74fe0c2064f3eull, "-1.7444126821560738e+52"},
    {0xea60312b25f547a0ull, "-2.5383371274236923e+204"},
    {0x0a37a0db378f8529ull, "1.9209543728829455e-259"},
    {0x64357c976eca2ba0ull, "5.3143105957415625e+174"},
    {0x530c999ebc9a0005ull, "1.1651877717291126e+92"},
    {0xf8c1c3a53505c031ull, "-4.80499232565924e+273"},
    {0xacb9cf9fd2a570deull, "-3.093475848325051e-93"},
    {0xefb725cd619664f3ull, "-1.4037956597997062e+230"},
    {0xea4bf216dfd13150ull, "-1.0952202791496759e+204"},
    {0x47b133eef5c42d3eull, "2.2866529753228088e+37"},
    {0xa1c09da38998cb80ull, "-4.158270689040944e-146"},
    {0x4df5f4a8ebcb1200ull, "3.699528557961452e+67"},
    {0xc10308b223e1ad08ull, "-155926.26752028638"},
    {0x41169db0b8cd5544ull, "370540.1804707835"},
    {0x41252c7362715c6aull, "693817.6922711257"},
    {0x4124ad3f24ae8fdeull, "677535.5716443022"},
    {0xc128d96cb2a8e41eull, "-814262.3489447867"},
    {0xc11d4221e54a7baaull, "-479368.47391694284"},
    {0xc105e8dfac30fa3cull, "-179483.95907779213"},
    {0x4125d7017033e774ull, "715648.719145997"},
    {0xc11b40cbc3f5d77eull, "-446514.9413674994"},
    {0xc1279354577552b6ull, "-772522.1708169791"},
    {0xc10e6eb8c9899c04ull, "-249303.09840700042"},
    {0xc1217688b49d6d0aull, "-572228.3527635646"},
    {0x411a656514214cd0ull, "432473.2696582796"},
    {0x41055d58410004e0ull, "175019.03173831757"},
    {0xc12b50342ef11516ull, "-895002.0916830625"},
    {0x41270959833bc702ull, "754860.7563154402"},
    {0xc0fd069d1f183bb0ull, "-118889.82009146991"},
    {0x4120e65c297ca2aeull, "553774.0810290182"},
    {0xc1246d5d2e5aa12cull, "-669358.5905351988"},
    {0xc1177296b298efa2ull, "-384165.6744115298"},
    {0xc12a0ac6d3bb1890ull, "-853347.4135368038"},
    {0xc109a314725e15e4ull, "-210018.55584351637"},
    {0xc1015b1a24cfef08ull, "-142179.2679747271"},
    {0x41165062536682e0ull, "365592.5814457368"},
    {0xc0e3ef095288a700ull, "-40824.29132492654"},
    {0xc1084a0226ca8ce0ull, "-198976.26894102152"},
    {0xc0e5858137a9cc20ull, "-44076.03804483288"},
    {0xc11ab39cc1b47152ull, "-437479.1891648966"},
    {0xc10fdaa900210ac4ull, "-260949.12506302272"},
    {0x410888dbf20fe3c8ull, "200987.49319436983"},
    {0xc121f0b013def532ull, "-587864.038810408"},
    {0x40e26c14dfa76840ull, "37728.652301505674"},
    {0x412a39a2bd77cc2eull, "859345.370054608"},
    {0xc0f4cad1619de878ull, "-85165.0863322335"},
    {0x41148bb417e4bb0cull, "336621.0233334757"},
    {0x4113831988a20664ull, "319686.3834305762"},
    {0x41226484ac0dd138ull, "602690.3360429173"},
    {0x411b887308f07448ull, "451100.75872976007"},
    {0x41139e1842eb7ff0ull, "321414.0653514853"},
    {0xc1283004b549903cull, "-792578.3540768693"},
    {0xc11047b1ff73c6b0ull, "-266732.49946508836"},
    {0x4121f2b18fa0f396ull, "588120.7805248376"},
    {0xc12a89dd0e464644ull, "-869614.5278799017"},
    {0xc125f8b95e93c7c0ull, "-719964.684721224"},
    {0x4128bdc0acfbb9acull, "810720.3378580115"},
    {0x41057d17756006e8ull, "176034.93231206317"},
    {0x412d4ea30cb86b50ull, "960337.5248445068"},
    {0x411ef4621a6eb754ull, "507160.5258129735"},
    {0x412e40f7ccf5ba50ull, "991355.9003122542"},
    {0xc1189524023645eaull, "-402761.00216016045"},
    {0x407741c28f5c28f6ull, "372.11"},
    {0x405f6ccccccccccdull, "125.7"},
    {0x405f43da5119ce07ull, "125.0602"},
    {0x4083a48f5c28f5c3ull, "628.57"},
    {0xc08ab83f487fcb92ull, "-855.0309"},
    {0x40698d1eb851eb85ull, "204.41"},
    {0x40348a3d70a3d70aull, "20.54"},
    {0xc055000000000000ull, "-84.0"},
    {0x40803ac1f212d773ull, "519.3447"},
    {0x4064a00000000000ull, "165.0"},
    {0x4084423d70a3d70aull, "648.28"},
    {0xc070040a67620ee9ull, "-256.25254"},
    {0xc08d780000000000ull, "-943.0"},
    {0x4074900000000000ull, "329.0"},
    {0x408d9d08f861a60dull, "947.62938"},
    {0xc085930a3d70a3d7ull, "-690.38"},
    {0x403f4e147ae147aeull, "31.305"},
    {0x4089880000000000ull, "817.0"},
    {0x4085810a3d70a3d7ull, "688.13"},
    {0xc07dd26666666666ull, "-477.15"},
    {0x4089980000000000ull, "819.0"},
    {0xc073100000000000ull, "-305.0"},
    {0x40732489a77e5eabull, "306.283607"},
    {0xc08e1d7b4a2339c1ull, "-963.6852"},
    {0xc0751d13a92a3055ull, "-337.8173"},
    {0xc080e64dd2f1a9fcull, "-540.788"},
    {0xbff2afe1da7b0b39ull, "-1.16794"},
    {0x408c233333333333ull, "900.4"},
    {0x40879d9930be0dedull, "755.6998"},
    {0x406df66666666666ull, "239.7"},
    {0x404f658a54823854ull, "62.793284"},
    {0xc0800b3333333333ull, "-513.4"},
    {0x4089e06e99a62ed3ull, "828.054004"},
    {0x402403b16c1e364cull, "10.007213"},
    {0xc06ab6268b19a416ull, "-213.692205"},
    {0xc075afe612839043ull, "-346.99367"},
    {0x408f3d2f4f0d844dull, "999.6481"},
    {0x40518a6666666666ull, "70.1625"},
    {0x4085800000000000ull, "688.0"},
    {0xc0700970a3d70a3dull, "-256.59"},
    {0x40806e62877ee4e2ull, "525.79811"},
    {0xc066e00000000000ull, "-183.0"},
    {0x406a000000000000ull, "208.0"},
    {0xc0773af27bb2fec5ull, "-371.6842"},
    {0x4082f051eb851eb8ull, "606.04"},
    {0x408b7c7381d7dbf5ull, "879.5564"},
    {0x4077a1ae147ae148ull, "378.105"},
    {0x4066800000000000ull, "180.0"},
    {0xc08d62935fc3b4f6ull, "-940.32196"},
    {0xc08a3d1eb851eb85ull, "-839.64"},
};

}  // namespace

TEST_CASE("float_repr is Python's repr for recorded doubles") {
  for (const auto& c : kFloats) {
    double d = std::bit_cast<double>(c.bits);
    CAPTURE(c.repr);
    CHECK(float_repr(d) == c.repr);
  }
  CHECK(float_repr(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(float_repr(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(float_repr(std::nan("")) == "nan");
  CHECK(float_repr(-std::nan("")) == "nan");
}

TEST_CASE("complex_repr is Python's repr") {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  CHECK(complex_repr(1, nan) == "(1+nanj)");
  CHECK(complex_repr(1, -nan) == "(1+nanj)");
  CHECK(complex_repr(nan, 1) == "(nan+1j)");
  CHECK(complex_repr(-nan, 2) == "(nan+2j)");
  CHECK(complex_repr(-0.0, 1) == "(-0+1j)");
  CHECK(complex_repr(0.0, -0.0) == "-0j");
  CHECK(complex_repr(0.0, 0.0) == "0j");
  CHECK(complex_repr(-0.0, -0.0) == "(-0-0j)");
  CHECK(complex_repr(inf, -inf) == "(inf-infj)");
  CHECK(complex_repr(1e16, 1e-5) == "(1e+16+1e-05j)");
  CHECK(complex_repr(0.0, 2.5) == "2.5j");
}

TEST_CASE("str_repr: quotes and escapes as unicode_repr") {
  CHECK(str_repr("") == "''");
  CHECK(str_repr("it's") == "\"it's\"");
  CHECK(str_repr("a\"b'c") == "'a\"b\\'c'");
  CHECK(str_repr("say \"hi\"") == "'say \"hi\"'");
  CHECK(str_repr("\\ \t\n\r\x01\x1f\x7f") == "'\\\\ \\t\\n\\r\\x01\\x1f\\x7f'");
  CHECK(str_repr("caf\u00e9 \u00ad \u0085 \u3000 \u2028") ==
        "'caf\u00e9 \\xad \\x85 \\u3000 \\u2028'");
  CHECK(str_repr("\U0001f600 \U000e0001 \u0378") == "'\U0001f600 \\U000e0001 \\u0378'");
  // A lone surrogate in WTF-8.
  CHECK(str_repr("\xed\xa0\x80") == "'\\ud800'");
  // Bytes that are not WTF-8 (never in a str read from the target).
  CHECK(str_repr("\xff") == "'\\xff'");
}

TEST_CASE("str_repr follows the target version's Unicode database") {
  struct Case {
    const char* text;
    int first_printable_minor;
  };
  const Case cases[] = {
      {"\U0001f972", 9},   // Unicode 13.0
      {"\u0c5d", 11},      // Unicode 14.0
      {"\U0001f6dc", 12},  // Unicode 15.0
      {"\U00031350", 12},  // Unicode 15.0 (CJK extension H)
  };
  for (const auto& c : cases) {
    for (int minor = 8; minor <= 13; ++minor) {
      CAPTURE(c.text);
      CAPTURE(minor);
      bool printable = minor >= c.first_printable_minor;
      CHECK((str_repr(c.text, minor) == std::string("'") + c.text + "'") == printable);
    }
  }
  CHECK(is_printable(U' ', 8));
  CHECK(!is_printable(U'\u00a0', 13));  // NO-BREAK SPACE (Zs)
  CHECK(!is_printable(U'\U0010ffff', 13));
  CHECK(is_printable(U'\u00e9', 3));  // before 3.8: answered as 3.8
}

TEST_CASE("bytes_repr and raw_text") {
  CHECK(bytes_repr(std::string("\0\xff'\"\\\t", 6)) == "b'\\x00\\xff\\'\"\\\\\\t'");
  CHECK(bytes_repr("it's") == "b\"it's\"");
  CHECK(raw_text("a\xed\xb2\x80z") == "a\\udc80z");
  CHECK(raw_text("caf\u00e9") == "caf\u00e9");
}

TEST_CASE("python-gdb.py's forms for each kind") {
  CHECK(value_repr(node(ValueKind::kNull)) == "0x0");
  CHECK(value_repr(node(ValueKind::kUnreadable, 0x10, "unknown")) == "<unknown at remote 0x10>");
  CHECK(value_repr(node(ValueKind::kOther, 0xab, "range")) == "<range at remote 0xab>");
  CHECK(value_repr(node(ValueKind::kNone)) == "None");
  PyValue b = node(ValueKind::kBool);
  b.flag = true;
  CHECK(value_repr(b) == "True");
  CHECK(value_repr(integer("-12")) == "-12");
  PyValue too_big = node(ValueKind::kInt, 0x500, "int");
  too_big.truncated = true;
  CHECK(value_repr(too_big) == "<int at remote 0x500>");
  CHECK(value_repr(with(node(ValueKind::kTuple), {integer("1")})) == "(1,)");
  CHECK(value_repr(with(node(ValueKind::kTuple), {integer("1"), integer("2")})) == "(1, 2)");
  CHECK(value_repr(with(node(ValueKind::kList), {node(ValueKind::kNull)})) == "[0x0]");
  CHECK(value_repr(with(node(ValueKind::kDict), {str("a"), integer("1"), integer("2"), str("b")})) ==
        "{'a': 1, 2: 'b'}");
  CHECK(value_repr(with(node(ValueKind::kSet, 0, "set"), {integer("1")})) == "{1}");
  CHECK(value_repr(node(ValueKind::kSet, 0, "set")) == "set()");
  CHECK(value_repr(with(node(ValueKind::kFrozenSet, 0, "frozenset"), {integer("1")})) ==
        "frozenset({1})");
  CHECK(value_repr(node(ValueKind::kFrozenSet, 0, "frozenset")) == "frozenset()");

  PyValue inst = node(ValueKind::kInstance, 0xaacd80, "Yuck");
  CHECK(value_repr(inst) == "<Yuck at remote 0xaacd80>");
  inst.flag = true;
  CHECK(value_repr(inst) == "<Yuck() at remote 0xaacd80>");
  inst = with(inst, {str("i"), integer("0"), str("s\xed\xb0\x80"), str("v")});
  CHECK(value_repr(inst) == "<Yuck(i=0, s\\udc00='v') at remote 0xaacd80>");

  PyValue cell = node(ValueKind::kCell, 0x77, "cell");
  CHECK(value_repr(cell) == "<cell at remote 0x77>");
  PyValue fn = node(ValueKind::kBuiltinFunction);
  fn.name = "len";
  CHECK(value_repr(fn) == "<built-in function len>");
  PyValue meth = node(ValueKind::kBuiltinMethod);
  meth.name = "sleep";
  meth.self_type = "module";
  meth.self_address = RemoteAddr(0x7f00);
  CHECK(value_repr(meth) == "<built-in method sleep of module object at remote 0x7f00>");
  PyValue wrapper = node(ValueKind::kMethodWrapper);
  CHECK(value_repr(wrapper) == "<method-wrapper <unknown name> of <unknown tp_name> object at 0x0>");
  wrapper.flag = true;
  wrapper.name = "__init__";
  wrapper.self_type = "Foo";
  wrapper.self_address = RemoteAddr(0x1234);
  CHECK(value_repr(wrapper) == "<method-wrapper '__init__' of Foo object at 0x1234>");
}

TEST_CASE("exceptions: one argument without the trailing comma") {
  PyValue args1 = with(node(ValueKind::kTuple), {str("msg")});
  CHECK(value_repr(with(node(ValueKind::kException, 0, "ValueError"), {args1})) ==
        "ValueError('msg')");
  PyValue args0 = node(ValueKind::kTuple);
  CHECK(value_repr(with(node(ValueKind::kException, 0, "ValueError"), {args0})) ==
        "ValueError()");
  PyValue args2 = with(node(ValueKind::kTuple), {integer("1"), integer("2")});
  CHECK(value_repr(with(node(ValueKind::kException, 0, "KeyError"), {args2})) ==
        "KeyError(1, 2)");
}

TEST_CASE("cycles print the marker python-gdb.py prints for that kind") {
  auto cycle = [](ValueKind of) {
    PyValue v = node(ValueKind::kCycle);
    v.of = of;
    return value_repr(v);
  };
  CHECK(cycle(ValueKind::kList) == "[...]");
  CHECK(cycle(ValueKind::kDict) == "{...}");
  CHECK(cycle(ValueKind::kTuple) == "(...)");
  CHECK(cycle(ValueKind::kSet) == "(...)");
  CHECK(cycle(ValueKind::kException) == "(...)");
  CHECK(cycle(ValueKind::kInstance) == "<...>");
}

TEST_CASE("the frame line") {
  PyValue f = node(ValueKind::kFrame, 0x7ffff7fb62b0, "frame");
  f.text = "/tmp/rec.py";
  f.name = "recursive_function";
  f.line = 5;
  f = with(f, {str("n"), integer("0")});
  CHECK(value_repr(f) ==
        "Frame 0x7ffff7fb62b0, for file /tmp/rec.py, line 5, in recursive_function (n=0)");
  f.line.reset();
  f.children.clear();
  CHECK(value_repr(f) == "Frame 0x7ffff7fb62b0, for file /tmp/rec.py, line ?, in recursive_function ()");
}

TEST_CASE("the cut at max_len characters") {
  // Exactly 1024 characters: no cut.
  std::string text(1022, 'a');
  CHECK(value_repr(str(text)) == "'" + text + "'");
  // One more: cut after 1024 characters.
  text += 'a';
  CHECK(value_repr(str(text)) == "'" + std::string(1023, 'a') + "...(truncated)");
  // Characters, not bytes: 1100 two-byte characters.
  std::string wide;
  for (int i = 0; i < 1100; ++i) wide += "\u00e9";
  std::string expected = "'";
  for (int i = 0; i < 1023; ++i) expected += "\u00e9";
  CHECK(value_repr(str(wide)) == expected + "...(truncated)");
  // An escape can be cut in the middle, as python-gdb.py cuts it.
  std::string ctl(1022, 'a');
  ctl += '\x01';
  CHECK(value_repr(str(ctl)) == "'" + std::string(1022, 'a') + "\\...(truncated)");
  // Other limits.
  ReprOptions small;
  small.max_len = 5;
  CHECK(value_repr(with(node(ValueKind::kList), {integer("123"), integer("456")}), small) ==
        "[123,...(truncated)");
  small.max_len = 0;
  CHECK(value_repr(str(std::string(5000, 'b')), small).size() == 5002);
}

TEST_CASE("values cut short by a read limit end as a cut output") {
  ReprOptions unlimited;
  unlimited.max_len = 0;
  PyValue cut_str = str("abc");
  cut_str.truncated = true;
  CHECK(value_repr(cut_str, unlimited) == "'abc...(truncated)");
  PyValue l = with(node(ValueKind::kList), {integer("1"), node(ValueKind::kElided)});
  l.truncated = true;
  CHECK(value_repr(l, unlimited) == "[1, ...(truncated)");
  CHECK(value_repr(l) == "[1, ...(truncated)");
}

TEST_CASE("show_names names classes, functions, modules and methods") {
  ReprOptions names;
  names.show_names = true;
  PyValue fn = node(ValueKind::kFunction, 0x10, "function");
  fn.name = "C.f";
  CHECK(value_repr(fn, names) == "<function C.f at remote 0x10>");
  CHECK(value_repr(fn) == "<function at remote 0x10>");
  PyValue cls = node(ValueKind::kType, 0x20, "type");
  cls.name = "C";
  CHECK(value_repr(cls, names) == "<class 'C' at remote 0x20>");
  PyValue mod = node(ValueKind::kModule, 0x30, "module");
  mod.name = "os";
  CHECK(value_repr(mod, names) == "<module 'os' at remote 0x30>");
  PyValue m = node(ValueKind::kMethod, 0x40, "method");
  m.name = "C.f";
  m.self_type = "C";
  m.self_address = RemoteAddr(0x50);
  CHECK(value_repr(m, names) == "<bound method C.f of <C object at remote 0x50>>");
  PyValue c = node(ValueKind::kCell, 0x60, "cell");
  CHECK(value_repr(c, names) == "<cell at remote 0x60: empty>");
  PyValue nameless = node(ValueKind::kModule, 0x70, "module");
  CHECK(value_repr(nameless, names) == "<module at remote 0x70>");
}
