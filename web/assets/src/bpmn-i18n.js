// bpmn-js, diagram-js, the properties panel and the lint overlays in the page's language: the documented way, a
// `translate` service replacing diagram-js's (additionalModules: [translateModule]). The keys are the exact English
// texts those libraries pass to translate(…), {placeholders} included; a text missing here stays English.
import { pageLanguage } from './i18n';

// What an element or process id may contain (an XML NCName, ASCII only), said instead of "must be a valid QName".
const ID_RULE_EN = 'An ID may contain only letters (A-Z, a-z, without accents), digits, _, - and ., and starts with a letter or _, e.g. review_contract.';
const ID_RULE_PT = 'Um ID pode conter apenas letras (A-Z, a-z, sem acentos), dígitos, _, - e ., e começa com uma letra ou _, por exemplo revisar_contrato.';

/** English texts replaced by clearer ones. */
export const EN = {
  'ID must not contain spaces.': 'ID must not contain spaces. ' + ID_RULE_EN,
  'ID must not contain prefix.': 'ID must not contain a prefix (nothing before “:”). ' + ID_RULE_EN,
  'ID must be a valid QName.': ID_RULE_EN
};

/** Brazilian Portuguese for the texts a designer meets in the editor (palette, context pad, replace menu, panel). */
export const PT_BR = {
  // palette
  'Activate hand tool': 'Ativar a ferramenta mão',
  'Activate lasso tool': 'Ativar a ferramenta laço',
  'Activate create/remove space tool': 'Ativar a ferramenta de criar/remover espaço',
  'Activate global connect tool': 'Ativar a ferramenta de conexão global',
  'Create start event': 'Criar evento de início',
  'Create intermediate/boundary event': 'Criar evento intermediário/de borda',
  'Create end event': 'Criar evento de fim',
  'Create gateway': 'Criar gateway',
  'Create task': 'Criar tarefa',
  'Create data object reference': 'Criar referência a objeto de dados',
  'Create data store reference': 'Criar referência a repositório de dados',
  'Create expanded sub-process': 'Criar subprocesso expandido',
  'Create pool/participant': 'Criar pool/participante',
  'Create group': 'Criar grupo',
  'Search in diagram': 'Pesquisar no diagrama',

  // context pad
  'Append task': 'Adicionar tarefa em seguida',
  'Append end event': 'Adicionar evento de fim em seguida',
  'Append gateway': 'Adicionar gateway em seguida',
  'Append intermediate/boundary event': 'Adicionar evento intermediário/de borda em seguida',
  'Append receive task': 'Adicionar tarefa de recebimento em seguida',
  'Append message intermediate catch event': 'Adicionar evento intermediário de captura de mensagem em seguida',
  'Append timer intermediate catch event': 'Adicionar evento intermediário de temporizador em seguida',
  'Append conditional intermediate catch event': 'Adicionar evento intermediário condicional em seguida',
  'Append signal intermediate catch event': 'Adicionar evento intermediário de captura de sinal em seguida',
  'Append compensation activity': 'Adicionar atividade de compensação',
  'Add text annotation': 'Adicionar anotação de texto',
  'Change element': 'Mudar o tipo do elemento',
  'Connect to other element': 'Conectar a outro elemento',
  'Connect using association': 'Conectar por associação',
  'Connect using data input association': 'Conectar por associação de entrada de dados',
  'Delete': 'Excluir',
  'Add lane above': 'Adicionar raia acima',
  'Add lane below': 'Adicionar raia abaixo',
  'Divide into two lanes': 'Dividir em duas raias',
  'Divide into three lanes': 'Dividir em três raias',
  'Align elements': 'Alinhar elementos',
  'Align elements left': 'Alinhar elementos à esquerda',
  'Align elements center': 'Centralizar elementos na horizontal',
  'Align elements right': 'Alinhar elementos à direita',
  'Align elements top': 'Alinhar elementos ao topo',
  'Align elements middle': 'Centralizar elementos na vertical',
  'Align elements bottom': 'Alinhar elementos à base',
  'Distribute elements horizontally': 'Distribuir elementos na horizontal',
  'Distribute elements vertically': 'Distribuir elementos na vertical',
  'Open {element}': 'Abrir {element}',

  // replace menu ("Change element"): element names and header toggles
  'Task': 'Tarefa',
  'User task': 'Tarefa de usuário',
  'Service task': 'Tarefa de serviço',
  'Script task': 'Tarefa de script',
  'Send task': 'Tarefa de envio',
  'Receive task': 'Tarefa de recebimento',
  'Manual task': 'Tarefa manual',
  'Business rule task': 'Tarefa de regra de negócio',
  'Call activity': 'Atividade de chamada',
  'Sub-process (collapsed)': 'Subprocesso (recolhido)',
  'Sub-process (expanded)': 'Subprocesso (expandido)',
  'Event sub-process': 'Subprocesso de evento',
  'Sub-process': 'Subprocesso',
  'Ad-hoc sub-process': 'Subprocesso ad hoc',
  'Ad-hoc sub-process (collapsed)': 'Subprocesso ad hoc (recolhido)',
  'Ad-hoc sub-process (expanded)': 'Subprocesso ad hoc (expandido)',
  'Transaction': 'Transação',
  'Exclusive gateway': 'Gateway exclusivo',
  'Parallel gateway': 'Gateway paralelo',
  'Inclusive gateway': 'Gateway inclusivo',
  'Complex gateway': 'Gateway complexo',
  'Event-based gateway': 'Gateway baseado em eventos',
  'Start event': 'Evento de início',
  'End event': 'Evento de fim',
  'Intermediate throw event': 'Evento intermediário de lançamento',
  'Boundary event': 'Evento de borda',
  'Message start event': 'Evento de início de mensagem',
  'Message start event (non-interrupting)': 'Evento de início de mensagem (não interruptivo)',
  'Timer start event': 'Evento de início de temporizador',
  'Timer start event (non-interrupting)': 'Evento de início de temporizador (não interruptivo)',
  'Conditional start event': 'Evento de início condicional',
  'Signal start event': 'Evento de início de sinal',
  'Message intermediate catch event': 'Evento intermediário de captura de mensagem',
  'Message intermediate throw event': 'Evento intermediário de lançamento de mensagem',
  'Timer intermediate catch event': 'Evento intermediário de temporizador',
  'Conditional intermediate catch event': 'Evento intermediário condicional',
  'Signal intermediate catch event': 'Evento intermediário de captura de sinal',
  'Signal intermediate throw event': 'Evento intermediário de lançamento de sinal',
  'Escalation intermediate throw event': 'Evento intermediário de lançamento de escalonamento',
  'Compensation intermediate throw event': 'Evento intermediário de lançamento de compensação',
  'Link intermediate catch event': 'Evento intermediário de captura de link',
  'Link intermediate throw event': 'Evento intermediário de lançamento de link',
  'Message end event': 'Evento de fim de mensagem',
  'Error end event': 'Evento de fim de erro',
  'Escalation end event': 'Evento de fim de escalonamento',
  'Signal end event': 'Evento de fim de sinal',
  'Terminate end event': 'Evento de fim de término',
  'Message boundary event': 'Evento de borda de mensagem',
  'Message boundary event (non-interrupting)': 'Evento de borda de mensagem (não interruptivo)',
  'Timer boundary event': 'Evento de borda de temporizador',
  'Timer boundary event (non-interrupting)': 'Evento de borda de temporizador (não interruptivo)',
  'Error boundary event': 'Evento de borda de erro',
  'Signal boundary event': 'Evento de borda de sinal',
  'Signal boundary event (non-interrupting)': 'Evento de borda de sinal (não interruptivo)',
  'Conditional boundary event': 'Evento de borda condicional',
  'Conditional boundary event (non-interrupting)': 'Evento de borda condicional (não interruptivo)',
  'Escalation boundary event': 'Evento de borda de escalonamento',
  'Escalation boundary event (non-interrupting)': 'Evento de borda de escalonamento (não interruptivo)',
  'Sequence flow': 'Fluxo de sequência',
  'Default flow': 'Fluxo padrão',
  'Conditional flow': 'Fluxo condicional',
  'Data object reference': 'Referência a objeto de dados',
  'Data store reference': 'Referência a repositório de dados',
  'Expanded pool/participant': 'Pool/participante expandido',
  'Empty pool/participant': 'Pool/participante vazio',
  'Parallel multi-instance': 'Multi-instância paralela',
  'Sequential multi-instance': 'Multi-instância sequencial',
  'Loop': 'Repetição',
  'Toggle non-interrupting': 'Alternar não interruptivo',

  // properties panel: header (element type, from its BPMN type) and placeholders
  'User Task': 'Tarefa de usuário',
  'Service Task': 'Tarefa de serviço',
  'Script Task': 'Tarefa de script',
  'Send Task': 'Tarefa de envio',
  'Receive Task': 'Tarefa de recebimento',
  'Manual Task': 'Tarefa manual',
  'Business Rule Task': 'Tarefa de regra de negócio',
  'Call Activity': 'Atividade de chamada',
  'Start Event': 'Evento de início',
  'End Event': 'Evento de fim',
  'Message Start Event': 'Evento de início de mensagem',
  'Timer Start Event': 'Evento de início de temporizador',
  'Message End Event': 'Evento de fim de mensagem',
  'Error End Event': 'Evento de fim de erro',
  'Terminate End Event': 'Evento de fim de término',
  'Intermediate Throw Event': 'Evento intermediário de lançamento',
  'Message Intermediate Catch Event': 'Evento intermediário de captura de mensagem',
  'Timer Intermediate Catch Event': 'Evento intermediário de temporizador',
  'Timer Boundary Event': 'Evento de borda de temporizador',
  'Timer Boundary Event (Non Interrupting)': 'Evento de borda de temporizador (não interruptivo)',
  'Message Boundary Event': 'Evento de borda de mensagem',
  'Error Boundary Event': 'Evento de borda de erro',
  'Exclusive Gateway': 'Gateway exclusivo',
  'Parallel Gateway': 'Gateway paralelo',
  'Inclusive Gateway': 'Gateway inclusivo',
  'Event Based Gateway': 'Gateway baseado em eventos',
  'Sequence Flow': 'Fluxo de sequência',
  'Conditional Flow': 'Fluxo condicional',
  'Default Flow': 'Fluxo padrão',
  'Collapsed Sub Process': 'Subprocesso recolhido',
  'Expanded Sub Process': 'Subprocesso expandido',
  'Event Sub Process': 'Subprocesso de evento',
  'Process': 'Processo',
  'Collaboration': 'Colaboração',
  'Participant': 'Participante',
  'Lane': 'Raia',
  'Text Annotation': 'Anotação de texto',
  'Group': 'Grupo',
  'Data Object Reference': 'Referência a objeto de dados',
  'Data Store Reference': 'Referência a repositório de dados',
  'Select an element to edit its properties.': 'Selecione um elemento para editar suas propriedades.',
  'Multiple elements are selected. Select a single element to edit its properties.':
    'Vários elementos estão selecionados. Selecione um só para editar suas propriedades.',

  // properties panel: groups
  'General': 'Geral',
  'Documentation': 'Documentação',
  'User assignment': 'Atribuição de usuário',
  'Forms': 'Formulários',
  'Form fields': 'Campos do formulário',
  'Asynchronous continuations': 'Continuações assíncronas',
  'Job execution': 'Execução de jobs',
  'Implementation': 'Implementação',
  'Inputs': 'Entradas',
  'Outputs': 'Saídas',
  'Connector inputs': 'Entradas do conector',
  'Connector outputs': 'Saídas do conector',
  'Execution listeners': 'Listeners de execução',
  'Task listeners': 'Listeners de tarefa',
  'Extension properties': 'Propriedades de extensão',
  'Field injections': 'Injeções de campo',
  'Called element': 'Elemento chamado',
  'In mappings': 'Mapeamentos de entrada',
  'Out mappings': 'Mapeamentos de saída',
  'In mapping propagation': 'Propagação dos mapeamentos de entrada',
  'Out mapping propagation': 'Propagação dos mapeamentos de saída',
  'Process variables': 'Variáveis do processo',
  'Multi-instance': 'Multi-instância',
  'Timer': 'Temporizador',
  'Message': 'Mensagem',
  'Signal': 'Sinal',
  'Error': 'Erro',
  'Errors': 'Erros',
  'Escalation': 'Escalonamento',
  'Compensation': 'Compensação',
  'Link': 'Link',
  'Condition': 'Condição',
  'Script': 'Script',
  'External task': 'Tarefa externa',
  'Start initiator': 'Iniciador',
  'Candidate starter': 'Iniciadores candidatos',
  'History cleanup': 'Limpeza do histórico',
  'Tasklist': 'Lista de tarefas',

  // properties panel: general, documentation, user assignment
  'Name': 'Nome',
  'ID': 'ID',
  'Process name': 'Nome do processo',
  'Process ID': 'ID do processo',
  'Participant Name': 'Nome do participante',
  'Participant ID': 'ID do participante',
  'Executable': 'Executável',
  'Version tag': 'Tag de versão',
  'Element documentation': 'Documentação do elemento',
  'Process documentation': 'Documentação do processo',
  'ID must not be empty.': 'O ID não pode ficar vazio.',
  'ID must be unique.': 'O ID precisa ser único.',
  'ID must not contain spaces.': 'O ID não pode conter espaços. ' + ID_RULE_PT,
  'ID must not contain prefix.': 'O ID não pode conter prefixo (nada antes de “:”). ' + ID_RULE_PT,
  'ID must be a valid QName.': ID_RULE_PT,
  'Assignee': 'Responsável',
  'Candidate groups': 'Grupos candidatos',
  'Candidate users': 'Usuários candidatos',
  'Due date': 'Data de vencimento',
  'Follow up date': 'Data de acompanhamento',
  'Priority': 'Prioridade',
  'Start typing "${}" to create an expression.': 'Comece a digitar "${}" para criar uma expressão.',
  'The due date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).':
    'A data de vencimento como expressão EL (por exemplo ${someDate}) ou data ISO (por exemplo 2015-06-26T09:54:00).',
  'The follow up date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).':
    'A data de acompanhamento como expressão EL (por exemplo ${someDate}) ou data ISO (por exemplo ' +
    '2015-06-26T09:54:00).',
  'Specify more than one group as a comma separated list.': 'Para mais de um grupo, separe-os por vírgulas.',
  'Specify more than one user as a comma separated list.': 'Para mais de um usuário, separe-os por vírgulas.',
  'Candidate starter groups': 'Grupos iniciadores candidatos',
  'Candidate starter users': 'Usuários iniciadores candidatos',
  'Initiator': 'Iniciador',
  'This maps to the process definition key.': 'Corresponde à chave da definição do processo.',
  'Time to live': 'Tempo de retenção',
  'Startable': 'Pode ser iniciada',

  // properties panel: forms and form fields
  'Type': 'Tipo',
  '<none>': '<nenhum>',
  'Embedded or External Task Forms': 'Formulários de tarefa incorporados ou externos',
  'Generated Task Forms': 'Formulários de tarefa gerados',
  'Form key': 'Chave do formulário',
  'Form reference': 'Referência do formulário',
  'Binding': 'Vínculo',
  'Version': 'Versão',
  'Label': 'Rótulo',
  'Default value': 'Valor padrão',
  'Custom type': 'Tipo personalizado',
  '<custom type>': '<tipo personalizado>',
  'Values': 'Valores',
  'Constraints': 'Restrições',
  'Properties': 'Propriedades',
  'Config': 'Configuração',
  'Value': 'Valor',
  'Key': 'Chave',
  'Refers to the process variable name': 'Corresponde ao nome da variável do processo',
  'latest': 'mais recente',
  'deployment': 'implantação',
  'version': 'versão',

  // properties panel: implementation (service and script tasks, listeners)
  'Java class': 'Classe Java',
  'Expression': 'Expressão',
  'Delegate expression': 'Expressão delegada',
  'External': 'Externa',
  'Connector': 'Conector',
  'Topic': 'Tópico',
  'Result variable': 'Variável de resultado',
  'Connector ID': 'ID do conector',
  'Format': 'Formato',
  'Script type': 'Tipo de script',
  'Inline script': 'Script embutido',
  'External resource': 'Recurso externo',
  'Resource': 'Recurso',
  'Event type': 'Tipo de evento',
  'Listener type': 'Tipo de listener',
  'Listener ID': 'ID do listener',
  'Field injection': 'Injeção de campo',
  'String': 'Texto',
  'Start': 'Início',
  'End': 'Fim',
  'Take': 'Percorrer',
  'Create': 'Criar',
  'Assignment': 'Atribuição',
  'Complete': 'Conclusão',
  'Update': 'Atualização',
  'Timeout': 'Tempo esgotado',
  'start': 'início',
  'end': 'fim',
  'take': 'percorrer',
  'create': 'criação',
  'assignment': 'atribuição',
  'complete': 'conclusão',
  'delete': 'exclusão',
  'update': 'atualização',
  'timeout': 'tempo esgotado',

  // properties panel: asynchronous continuations and job execution
  'Before': 'Antes',
  'After': 'Depois',
  'Asynchronous before': 'Assíncrono antes',
  'Asynchronous after': 'Assíncrono depois',
  'Exclusive': 'Exclusivo',
  'Retry time cycle': 'Ciclo de novas tentativas',

  // properties panel: inputs, outputs and mappings
  'Local variable name': 'Nome da variável local',
  'Process variable name': 'Nome da variável do processo',
  'Assignment type': 'Tipo de atribuição',
  'String or expression': 'Texto ou expressão',
  'List': 'Lista',
  'Map': 'Mapa',
  'List values': 'Valores da lista',
  'Map entries': 'Entradas do mapa',
  '<empty>': '<vazio>',
  'Source': 'Origem',
  'Source expression': 'Expressão de origem',
  'Target': 'Destino',
  'Local': 'Local',
  'Variable name': 'Nome da variável',
  'Propagate all variables': 'Propagar todas as variáveis',
  'Business key': 'Chave de negócio',
  'Business key expression': 'Expressão da chave de negócio',
  'Tenant ID': 'ID do tenant',
  'Delegate Variable Mapping': 'Mapeamento delegado de variáveis',
  'Delegate Class': 'Classe delegada',
  'Delegate Expression': 'Expressão delegada',
  'Case ref': 'Referência do caso',
  'Called decision': 'Decisão chamada',

  // properties panel: timer, message, condition, multi-instance
  'Date': 'Data',
  'Duration': 'Duração',
  'Cycle': 'Ciclo',
  'A specific point in time defined as ISO 8601 combined date and time representation.':
    'Um instante definido como data e hora combinadas em ISO 8601.',
  'UTC time': 'hora UTC',
  'UTC plus 2 hours zone offset': 'fuso UTC mais 2 horas',
  'A cycle defined as ISO 8601 repeating intervals format.':
    'Um ciclo definido no formato de intervalos repetidos ISO 8601.',
  'every 10 seconds, up to 5 times': 'a cada 10 segundos, até 5 vezes',
  'every day, infinitely': 'todo dia, sem fim',
  'A time duration defined as ISO 8601 durations format.': 'Uma duração definida no formato de durações ISO 8601.',
  '15 seconds': '15 segundos',
  '1 hour and 30 minutes': '1 hora e 30 minutos',
  '14 days': '14 dias',
  'Documentation: Timer events': 'Documentação: eventos de temporizador',
  'Global message reference': 'Referência à mensagem global',
  'Global signal reference': 'Referência ao sinal global',
  'Global error reference': 'Referência ao erro global',
  'Global escalation reference': 'Referência ao escalonamento global',
  'Create new ...': 'Criar nova…',
  'Code': 'Código',
  'Code variable': 'Variável do código',
  'Message variable': 'Variável da mensagem',
  'Condition Expression': 'Expressão da condição',
  'Condition expression': 'Expressão da condição',
  'Variable names': 'Nomes das variáveis',
  'Variable events': 'Eventos de variável',
  'Loop cardinality': 'Cardinalidade da repetição',
  'Completion condition': 'Condição de conclusão',
  'Collection': 'Coleção',
  'Element variable': 'Variável do elemento',

  // properties panel: generic controls
  'Toggle section': 'Expandir/recolher seção',
  'Section contains an error': 'A seção contém um erro',
  'Section contains edits': 'A seção contém alterações',
  'Toggle list item': 'Expandir/recolher item',
  'Delete item': 'Excluir item',
  'Create new list item': 'Criar novo item',
  'List contains {numOfItems} item': 'A lista contém {numOfItems} item',
  'List contains {numOfItems} items': 'A lista contém {numOfItems} itens',
  'Open documentation': 'Abrir a documentação',
  'Open pop-up editor': 'Abrir o editor em janela',
  'Opened in editor': 'Aberto no editor',
  'JSON contains errors': 'O JSON contém erros',

  // lint overlays (bpmn-js-bpmnlint) and the bpmnlint rules the designer runs
  'Toggle linting overlays': 'Mostrar/ocultar os avisos de verificação',
  'Issues for child elements': 'Problemas dos elementos filhos',
  'No Issues': 'Nenhum problema',
  '{errors} Errors, {warnings} Warnings': '{errors} erro(s), {warnings} aviso(s)',
  'Element is missing label/name': 'O elemento não tem rótulo/nome',
  'Element is not connected': 'O elemento não está conectado',
  'Element is an implicit start': 'O elemento é um início implícito',
  'Element is an implicit end': 'O elemento é um fim implícito',
  'Element overlaps with other element': 'O elemento se sobrepõe a outro',
  'Element is outside of parent boundary': 'O elemento está fora dos limites do pai',
  'Element is missing bpmndi': 'O elemento não tem bpmndi',
  'Element is missing name': 'O elemento não tem nome',
  'Element is unused': 'O elemento não é usado',
  'Element name is not unique': 'O nome do elemento não é único',
  'Flow splits implicitly': 'O fluxo se divide implicitamente',
  'Sequence flow is missing condition': 'O fluxo de sequência não tem condição',
  'Sequence flow has superfluous label': 'O fluxo de sequência tem um rótulo supérfluo',
  'SequenceFlow is a duplicate': 'O fluxo de sequência está duplicado',
  'Duplicate outgoing sequence flows': 'Fluxos de sequência de saída duplicados',
  'Duplicate incoming sequence flows': 'Fluxos de sequência de entrada duplicados',
  'Gateway is superfluous. It only has one source and target.':
    'O gateway é supérfluo: tem só uma origem e um destino.',
  'Termination is superfluous.': 'O término é supérfluo.',
  'Event has multiple event definitions': 'O evento tem várias definições de evento',
  'Start event must be blank': 'O evento de início deve ser simples (sem definição de evento)',
  'Start event is missing event definition': 'O evento de início não tem definição de evento',
  'Link event is missing link name': 'O evento de link não tem nome de link',
  'Process is missing start event': 'O processo não tem evento de início',
  'Process is missing end event': 'O processo não tem evento de fim',
  'Process has multiple blank start events': 'O processo tem vários eventos de início simples',
  'Sub process is missing start event': 'O subprocesso não tem evento de início',
  'Sub process is missing end event': 'O subprocesso não tem evento de fim',
  'Sub process has multiple blank start events': 'O subprocesso tem vários eventos de início simples',
  'An <Event-based Gateway> must have at least 2 outgoing <Sequence Flows>':
    'Um <gateway baseado em eventos> precisa ter pelo menos 2 <fluxos de sequência> de saída',
  'A <Sequence Flow> outgoing from an <Event-based Gateway> must not be conditional':
    'Um <fluxo de sequência> que sai de um <gateway baseado em eventos> não pode ser condicional',

  // modeling feedback
  'flow elements must be children of pools/participants': 'elementos de fluxo precisam estar dentro de pools/participantes',
  'Data object must be placed within a pool/participant.':
    'O objeto de dados precisa ser colocado dentro de um pool/participante.'
};

const DICTIONARIES = { 'pt-BR': PT_BR, 'en': EN };

/**
 * The properties panel hands its own translate service to bpmn-js's texts but not to the generic controls of
 * @bpmn-io/properties-panel ("Toggle section", "Create", "Section contains edits", …), which fall back to English;
 * their groups do accept a `translate` prop, so this provider, registered last, gives every group ours.
 */
function GroupTranslateProvider(propertiesPanel, translate) {
  this.getGroups = function() {
    return function(groups) {
      return groups.map((group) => (group.translate ? group : { ...group, translate }));
    };
  };
  propertiesPanel.registerProvider(1, this); // the lowest priority runs after every other provider
}

GroupTranslateProvider.$inject = ['propertiesPanel', 'translate'];

/** For a Modeler with the properties panel: the panel's group controls in the page's language too. */
export const PanelTranslateModule = {
  __init__: ['jornadaGroupTranslate'],
  jornadaGroupTranslate: ['type', GroupTranslateProvider]
};

/** Fill {name} placeholders from ``replacements``; unknown ones stay as they are (like diagram-js's translate). */
function fill(template, replacements) {
  return template.replace(/{([^}]+)}/g, (match, key) => {
    const value = replacements[key];
    return value === undefined || value === null ? match : String(value);
  });
}

/** A diagram-js ``translate`` for ``language`` ('pt-BR' or 'en'): the dictionary's text, else the English key. */
export function makeTranslate(language) {
  const dictionary = DICTIONARIES[language] || {};
  return function translate(template, replacements) {
    const text = Object.prototype.hasOwnProperty.call(dictionary, template) ? dictionary[template] : template;
    return fill(String(text), replacements || {});
  };
}

/** The module to put in a Modeler's or Viewer's additionalModules; the language is read when the page loads. */
export function translateModule(language) {
  return { translate: ['value', makeTranslate(language || pageLanguage())] };
}
