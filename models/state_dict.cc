#include "models/state_dict.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "port/status_macros.h"

namespace sniper::models {
namespace {

// A Python object as far as a state dict needs one.
struct Obj;
using Ref = std::shared_ptr<Obj>;
struct Obj {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kStr,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor
  };
  Kind kind = Kind::kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;  // kStr, kGlobal ("module.name")
  std::vector<Ref> items;
  std::vector<std::pair<Ref, Ref>> dict;
  torch::Tensor tensor;  // kStorage: 1-D, kTensor
};

const char* KindName(Obj::Kind k) {
  switch (k) {
    case Obj::Kind::kNone:
      return "None";
    case Obj::Kind::kBool:
      return "bool";
    case Obj::Kind::kInt:
      return "int";
    case Obj::Kind::kFloat:
      return "float";
    case Obj::Kind::kStr:
      return "str";
    case Obj::Kind::kTuple:
      return "tuple";
    case Obj::Kind::kList:
      return "list";
    case Obj::Kind::kDict:
      return "dict";
    case Obj::Kind::kGlobal:
      return "global";
    case Obj::Kind::kStorage:
      return "storage";
    case Obj::Kind::kTensor:
      return "tensor";
  }
  return "?";
}

Ref Make(Obj::Kind kind) {
  auto r = std::make_shared<Obj>();
  r->kind = kind;
  return r;
}

std::optional<torch::Dtype> StorageDtype(const std::string& global) {
  static const auto* const kTypes = new std::map<std::string, torch::Dtype>{
      {"torch.FloatStorage", torch::kFloat},
      {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},
      {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},
      {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},
      {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},
      {"torch.BoolStorage", torch::kBool},
      {"torch.UntypedStorage", torch::kByte},
  };
  auto it = kTypes->find(global);
  if (it == kTypes->end()) return std::nullopt;
  return it->second;
}

class Machine {
 public:
  Machine(absl::string_view data,
          const std::function<absl::StatusOr<std::string>(const std::string&)>&
              load_record,
          const std::string& what)
      : data_(data), load_record_(load_record), what_(what) {}

  absl::StatusOr<Ref> Run() {
    while (true) {
      if (pos_ >= data_.size()) return Corrupt("no STOP opcode");
      const uint8_t op = static_cast<uint8_t>(data_[pos_++]);
      absl::Status s = Step(op);
      if (!s.ok()) return s;
      if (stopped_) {
        if (stack_.size() != 1) {
          return Corrupt(absl::StrCat("STOP with ", stack_.size(),
                                      " objects on the stack"));
        }
        return stack_.back();
      }
    }
  }

 private:
  absl::Status Corrupt(const std::string& why) const {
    return absl::DataLossError(
        absl::StrCat(what_, ": corrupt pickle at byte ", pos_, ": ", why));
  }
  absl::Status Unsupported(const std::string& why) const {
    return absl::InvalidArgumentError(absl::StrCat(
        what_, ": not a state dict torch.save wrote (", why,
        "); expected tensors in a dict, OrderedDict or list of pairs"));
  }

  absl::Status Need(size_t n) const {
    if (data_.size() - pos_ < n) {
      return absl::DataLossError(absl::StrCat(what_, ": truncated pickle: ", n,
                                              " bytes needed at byte ", pos_));
    }
    return absl::OkStatus();
  }
  uint64_t LittleEndian(size_t n) {
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + k]))
           << (8 * k);
    }
    pos_ += n;
    return v;
  }
  absl::StatusOr<std::string> Line() {
    const size_t end = data_.find('\n', pos_);
    if (end == absl::string_view::npos) return Corrupt("unterminated line");
    std::string line(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return line;
  }
  absl::StatusOr<Ref> Pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
      return Corrupt("stack underflow");
    }
    Ref r = stack_.back();
    stack_.pop_back();
    return r;
  }
  absl::StatusOr<std::vector<Ref>> PopToMark() {
    if (marks_.empty()) return Corrupt("no MARK");
    const size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) return Corrupt("MARK beyond the stack");
    std::vector<Ref> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  absl::Status Push(Ref r) {
    stack_.push_back(std::move(r));
    return absl::OkStatus();
  }
  Ref Top() const { return stack_.empty() ? nullptr : stack_.back(); }
  absl::Status PushString(size_t n) {
    RETURN_IF_ERROR(Need(n));
    Ref r = Make(Obj::Kind::kStr);
    r->s = std::string(data_.substr(pos_, n));
    pos_ += n;
    return Push(r);
  }
  absl::Status PushInt(int64_t v) {
    Ref r = Make(Obj::Kind::kInt);
    r->i = v;
    return Push(r);
  }
  absl::Status Memo(uint64_t index) {
    if (stack_.empty()) return Corrupt("memo store with an empty stack");
    memo_[index] = stack_.back();
    return absl::OkStatus();
  }
  absl::Status Recall(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) {
      return Corrupt(absl::StrCat("memo ", index, " was never stored"));
    }
    return Push(it->second);
  }

  absl::Status Step(uint8_t op);
  absl::Status Reduce(const Ref& callable, const Ref& args);
  absl::StatusOr<Ref> Storage(const Ref& pid);
  absl::StatusOr<Ref> RebuildTensor(const std::vector<Ref>& args);

  absl::string_view data_;
  const std::function<absl::StatusOr<std::string>(const std::string&)>&
      load_record_;
  std::string what_;
  size_t pos_ = 0;
  bool stopped_ = false;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  std::map<std::string, Ref> storages_;
};

absl::Status Machine::Step(uint8_t op) {
  switch (op) {
    case 0x80:  // PROTO
      RETURN_IF_ERROR(Need(1));
      ++pos_;
      return absl::OkStatus();
    case 0x95:  // FRAME
      RETURN_IF_ERROR(Need(8));
      pos_ += 8;
      return absl::OkStatus();
    case '.':  // STOP
      stopped_ = true;
      return absl::OkStatus();
    case '(':  // MARK
      marks_.push_back(stack_.size());
      return absl::OkStatus();
    case 'N':
      return Push(Make(Obj::Kind::kNone));
    case 0x88:
    case 0x89: {  // NEWTRUE, NEWFALSE
      Ref r = Make(Obj::Kind::kBool);
      r->i = op == 0x88;
      return Push(r);
    }
    case 'K':  // BININT1
      RETURN_IF_ERROR(Need(1));
      return PushInt(static_cast<int64_t>(LittleEndian(1)));
    case 'M':  // BININT2
      RETURN_IF_ERROR(Need(2));
      return PushInt(static_cast<int64_t>(LittleEndian(2)));
    case 'J':  // BININT (signed 32)
      RETURN_IF_ERROR(Need(4));
      return PushInt(static_cast<int32_t>(LittleEndian(4)));
    case 0x8a: {  // LONG1
      RETURN_IF_ERROR(Need(1));
      const size_t n = LittleEndian(1);
      if (n > 8) return Unsupported("an integer wider than 64 bits");
      RETURN_IF_ERROR(Need(n));
      uint64_t v = LittleEndian(n);
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n);
      return PushInt(static_cast<int64_t>(v));
    }
    case 'G': {  // BINFLOAT, big-endian
      RETURN_IF_ERROR(Need(8));
      uint64_t bits = 0;
      for (int k = 0; k < 8; ++k) {
        bits = (bits << 8) | static_cast<uint8_t>(data_[pos_ + k]);
      }
      pos_ += 8;
      Ref r = Make(Obj::Kind::kFloat);
      std::memcpy(&r->f, &bits, 8);
      return Push(r);
    }
    case 'X':  // BINUNICODE
    case 'B':  // BINBYTES
    case 'T':  // BINSTRING
      RETURN_IF_ERROR(Need(4));
      return PushString(LittleEndian(4));
    case 0x8c:  // SHORT_BINUNICODE
    case 'C':   // SHORT_BINBYTES
    case 'U':   // SHORT_BINSTRING
      RETURN_IF_ERROR(Need(1));
      return PushString(LittleEndian(1));
    case 0x8d:  // BINUNICODE8
    case 0x8e:  // BINBYTES8
      RETURN_IF_ERROR(Need(8));
      return PushString(LittleEndian(8));
    case '}':
      return Push(Make(Obj::Kind::kDict));
    case ']':
      return Push(Make(Obj::Kind::kList));
    case ')':
      return Push(Make(Obj::Kind::kTuple));
    case 't': {  // TUPLE
      ASSIGN_OR_RETURN(std::vector<Ref> items, PopToMark());
      Ref r = Make(Obj::Kind::kTuple);
      r->items = std::move(items);
      return Push(r);
    }
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1..3
      const int n = op - 0x84;
      Ref r = Make(Obj::Kind::kTuple);
      r->items.resize(n);
      for (int k = n - 1; k >= 0; --k) {
        ASSIGN_OR_RETURN(Ref item, Pop());
        r->items[k] = item;
      }
      return Push(r);
    }
    case 'q':  // BINPUT
      RETURN_IF_ERROR(Need(1));
      return Memo(LittleEndian(1));
    case 'r':  // LONG_BINPUT
      RETURN_IF_ERROR(Need(4));
      return Memo(LittleEndian(4));
    case 0x94:  // MEMOIZE
      return Memo(memo_.size());
    case 'h':  // BINGET
      RETURN_IF_ERROR(Need(1));
      return Recall(LittleEndian(1));
    case 'j':  // LONG_BINGET
      RETURN_IF_ERROR(Need(4));
      return Recall(LittleEndian(4));
    case 'c': {  // GLOBAL
      ASSIGN_OR_RETURN(std::string module, Line());
      ASSIGN_OR_RETURN(std::string name, Line());
      Ref r = Make(Obj::Kind::kGlobal);
      r->s = module + "." + name;
      return Push(r);
    }
    case 0x93: {  // STACK_GLOBAL
      ASSIGN_OR_RETURN(Ref name, Pop());
      ASSIGN_OR_RETURN(Ref module, Pop());
      if (name->kind != Obj::Kind::kStr || module->kind != Obj::Kind::kStr) {
        return Corrupt("STACK_GLOBAL needs two strings");
      }
      Ref r = Make(Obj::Kind::kGlobal);
      r->s = module->s + "." + name->s;
      return Push(r);
    }
    case 'R':     // REDUCE
    case 0x81: {  // NEWOBJ
      ASSIGN_OR_RETURN(Ref args, Pop());
      ASSIGN_OR_RETURN(Ref callable, Pop());
      return Reduce(callable, args);
    }
    case 'b': {  // BUILD: object state; ignored for dicts (OrderedDict
                 // _metadata) and tensors.
      ASSIGN_OR_RETURN(Ref state, Pop());
      const Ref top = Top();
      if (top == nullptr) return Corrupt("BUILD with an empty stack");
      if (top->kind != Obj::Kind::kDict && top->kind != Obj::Kind::kTensor) {
        return Unsupported(
            absl::StrCat("object state set on a ", KindName(top->kind)));
      }
      return absl::OkStatus();
    }
    case 's': {  // SETITEM
      ASSIGN_OR_RETURN(Ref value, Pop());
      ASSIGN_OR_RETURN(Ref key, Pop());
      const Ref top = Top();
      if (top == nullptr || top->kind != Obj::Kind::kDict) {
        return Corrupt("SETITEM without a dict");
      }
      top->dict.emplace_back(key, value);
      return absl::OkStatus();
    }
    case 'u': {  // SETITEMS
      ASSIGN_OR_RETURN(std::vector<Ref> items, PopToMark());
      const Ref top = Top();
      if (top == nullptr || top->kind != Obj::Kind::kDict ||
          items.size() % 2 != 0) {
        return Corrupt("SETITEMS without a dict or with an odd count");
      }
      for (size_t k = 0; k < items.size(); k += 2) {
        top->dict.emplace_back(items[k], items[k + 1]);
      }
      return absl::OkStatus();
    }
    case 'a': {  // APPEND
      ASSIGN_OR_RETURN(Ref value, Pop());
      const Ref top = Top();
      if (top == nullptr || top->kind != Obj::Kind::kList) {
        return Corrupt("APPEND without a list");
      }
      top->items.push_back(value);
      return absl::OkStatus();
    }
    case 'e': {  // APPENDS
      ASSIGN_OR_RETURN(std::vector<Ref> items, PopToMark());
      const Ref top = Top();
      if (top == nullptr || top->kind != Obj::Kind::kList) {
        return Corrupt("APPENDS without a list");
      }
      for (Ref& item : items) top->items.push_back(std::move(item));
      return absl::OkStatus();
    }
    case 'Q': {  // BINPERSID
      ASSIGN_OR_RETURN(Ref pid, Pop());
      ASSIGN_OR_RETURN(Ref storage, Storage(pid));
      return Push(storage);
    }
    default:
      return Corrupt(absl::StrCat("unsupported opcode 0x",
                                  absl::Hex(op, absl::kZeroPad2)));
  }
}

absl::Status Machine::Reduce(const Ref& callable, const Ref& args) {
  if (callable->kind != Obj::Kind::kGlobal) {
    return Unsupported(absl::StrCat("a call of a ", KindName(callable->kind)));
  }
  if (args->kind != Obj::Kind::kTuple) return Corrupt("call without a tuple");
  const std::string& f = callable->s;
  if (f == "collections.OrderedDict" || f == "builtins.dict" ||
      f == "__builtin__.dict") {
    if (!args->items.empty()) {
      return Unsupported(absl::StrCat(f, " called with arguments"));
    }
    return Push(Make(Obj::Kind::kDict));
  }
  if (f == "torch._utils._rebuild_tensor_v2" ||
      f == "torch._utils._rebuild_tensor") {
    ASSIGN_OR_RETURN(Ref t, RebuildTensor(args->items));
    return Push(t);
  }
  if (f == "torch._utils._rebuild_parameter" ||
      f == "torch._utils._rebuild_parameter_with_state") {
    if (args->items.empty() || args->items[0]->kind != Obj::Kind::kTensor) {
      return Corrupt(absl::StrCat(f, " without a tensor"));
    }
    return Push(args->items[0]);
  }
  return Unsupported(absl::StrCat("it calls ", f));
}

absl::StatusOr<Ref> Machine::Storage(const Ref& pid) {
  // ('storage', torch.<Type>Storage, key, location, numel)
  if (pid->kind != Obj::Kind::kTuple || pid->items.size() != 5 ||
      pid->items[0]->kind != Obj::Kind::kStr || pid->items[0]->s != "storage" ||
      pid->items[1]->kind != Obj::Kind::kGlobal ||
      pid->items[2]->kind != Obj::Kind::kStr ||
      pid->items[4]->kind != Obj::Kind::kInt) {
    return Unsupported("a persistent id that is not a tensor storage");
  }
  const std::string& key = pid->items[2]->s;
  if (auto it = storages_.find(key); it != storages_.end()) return it->second;
  const std::optional<torch::Dtype> dtype = StorageDtype(pid->items[1]->s);
  if (!dtype) {
    return Unsupported(absl::StrCat("storage type ", pid->items[1]->s));
  }
  const int64_t numel = pid->items[4]->i;
  if (numel < 0) return Corrupt("negative storage size");
  absl::StatusOr<std::string> bytes = load_record_(key);
  if (!bytes.ok()) return bytes.status();
  const size_t item = c10::elementSize(*dtype);
  if (bytes->size() != static_cast<size_t>(numel) * item) {
    return absl::DataLossError(absl::StrCat(what_, ": storage ", key, " has ",
                                            bytes->size(), " bytes, expected ",
                                            numel, " x ", item));
  }
  Ref r = Make(Obj::Kind::kStorage);
  r->tensor = torch::empty({numel}, torch::TensorOptions().dtype(*dtype));
  if (!bytes->empty()) {
    std::memcpy(r->tensor.data_ptr(), bytes->data(), bytes->size());
  }
  storages_[key] = r;
  return r;
}

absl::StatusOr<Ref> Machine::RebuildTensor(const std::vector<Ref>& a) {
  // (storage, offset, size, stride, ...)
  if (a.size() < 4 || a[0]->kind != Obj::Kind::kStorage ||
      a[1]->kind != Obj::Kind::kInt || a[2]->kind != Obj::Kind::kTuple ||
      a[3]->kind != Obj::Kind::kTuple ||
      a[2]->items.size() != a[3]->items.size()) {
    return Corrupt("tensor rebuild with unexpected arguments");
  }
  const torch::Tensor& storage = a[0]->tensor;
  const int64_t offset = a[1]->i;
  std::vector<int64_t> sizes, strides;
  int64_t last = offset;  // largest element index touched
  bool empty = false;
  for (size_t d = 0; d < a[2]->items.size(); ++d) {
    const Ref& sz = a[2]->items[d];
    const Ref& st = a[3]->items[d];
    if (sz->kind != Obj::Kind::kInt || st->kind != Obj::Kind::kInt ||
        sz->i < 0 || st->i < 0) {
      return Corrupt("tensor with invalid size or stride");
    }
    sizes.push_back(sz->i);
    strides.push_back(st->i);
    if (sz->i == 0) empty = true;
  }
  for (size_t d = 0; d < sizes.size() && !empty; ++d) {
    if (strides[d] > 0 &&
        (sizes[d] - 1) >
            (std::numeric_limits<int64_t>::max() - last) / strides[d]) {
      return Corrupt("tensor extent overflows");
    }
    last += (sizes[d] - 1) * strides[d];
  }
  if (offset < 0 || (!empty && last >= storage.numel())) {
    return absl::DataLossError(absl::StrCat(what_, ": tensor reaches element ",
                                            last, " of a storage of ",
                                            storage.numel()));
  }
  Ref r = Make(Obj::Kind::kTensor);
  r->tensor = storage.as_strided(sizes, strides, empty ? 0 : offset);
  return r;
}

absl::StatusOr<StateDictEntries> Entries(const Ref& root,
                                         const std::string& what, int depth) {
  StateDictEntries out;
  auto add = [&](const Ref& k, const Ref& v) -> absl::Status {
    if (k->kind != Obj::Kind::kStr) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": state dict key is a ", KindName(k->kind), ", not a str"));
    }
    if (v->kind != Obj::Kind::kTensor) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": entry ", k->s, " is a ", KindName(v->kind),
                       ", not a tensor"));
    }
    out.emplace_back(k->s, v->tensor);
    return absl::OkStatus();
  };
  if (root->kind == Obj::Kind::kDict) {
    if (depth == 0) {
      // A training checkpoint holding the state dict.
      for (const auto& [k, v] : root->dict) {
        if (k->kind == Obj::Kind::kStr &&
            (k->s == "state_dict" || k->s == "model") &&
            v->kind == Obj::Kind::kDict) {
          return Entries(v, what, depth + 1);
        }
      }
    }
    for (const auto& [k, v] : root->dict) RETURN_IF_ERROR(add(k, v));
    return out;
  }
  if (root->kind == Obj::Kind::kList) {
    for (const Ref& item : root->items) {
      if (item->kind != Obj::Kind::kTuple || item->items.size() != 2) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": a list state dict must hold (name, tensor) pairs"));
      }
      RETURN_IF_ERROR(add(item->items[0], item->items[1]));
    }
    return out;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": holds a ", KindName(root->kind),
                   ", not a state dict (dict, OrderedDict or list of pairs)"));
}

std::string DataPtrBytes(std::tuple<at::DataPtr, size_t>&& record) {
  const auto& [ptr, size] = record;
  return std::string(static_cast<const char*>(ptr.get()), size);
}

}  // namespace

absl::StatusOr<StateDictEntries> ParseStateDictPickle(
    absl::string_view pickle,
    const std::function<absl::StatusOr<std::string>(const std::string& key)>&
        load_record,
    const std::string& what) {
  Machine machine(pickle, load_record, what);
  absl::StatusOr<Ref> root = machine.Run();
  if (!root.ok()) return root.status();
  return Entries(*root, what, 0);
}

absl::StatusOr<StateDictEntries> ReadStateDict(const std::string& path) {
  char magic[4] = {0, 0, 0, 0};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
    in.read(magic, 4);
  }
  if (std::memcmp(magic, "PK\x03\x04", 4) != 0) {
    if (static_cast<uint8_t>(magic[0]) == 0x80) {
      return absl::DataLossError(absl::StrCat(
          path,
          ": legacy (pre-1.6) torch.save format; load and re-save it with a "
          "current PyTorch"));
    }
    return absl::DataLossError(
        absl::StrCat(path, ": not a torch.save zip archive"));
  }
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (reader.hasRecord("byteorder") &&
        DataPtrBytes(reader.getRecord("byteorder")) != "little") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": big-endian tensors are not supported"));
    }
    if (!reader.hasRecord("data.pkl")) {
      return absl::DataLossError(
          absl::StrCat(path, ": archive has no data.pkl"));
    }
    const std::string pickle = DataPtrBytes(reader.getRecord("data.pkl"));
    auto load = [&](const std::string& key) -> absl::StatusOr<std::string> {
      const std::string name = "data/" + key;
      if (!reader.hasRecord(name)) {
        return absl::DataLossError(
            absl::StrCat(path, ": archive has no record ", name));
      }
      return DataPtrBytes(reader.getRecord(name));
    };
    return ParseStateDictPickle(pickle, load, path);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat(path, ": unreadable archive (",
                                            e.what_without_backtrace(), ")"));
  }
}

}  // namespace sniper::models
